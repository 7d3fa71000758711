#!/usr/bin/env python3
"""Holds N idle keep-alive connections open to an HTTP front end on 127.0.0.1.

usage: idle_connections.py PORT N HOST [SECONDS [small|browser]]

Each connection sends one GET and reads its whole answer, so the front end has served it
and now keeps it idle, waiting for a next request. The GET is the smallest a client sends
(`small`, the default: the request line and Host) or a browser's (`browser`: about 700
bytes of head, the fields a desktop browser sends for a page). Prints "ready N" once all
are open, then sleeps (at most SECONDS, default 60) until it is killed, so that the
caller can measure the front end's memory with N idle connections. Used by
scripts/bench-proxy.
"""
import socket
import sys
import time


BROWSER_FIELDS = (
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/png,image/svg+xml,*/*;q=0.8\r\n"
    "Accept-Language: en-GB,en;q=0.7,de;q=0.3\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Referer: http://bench.localhost/previous/page.html\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: session=6f1c2b9e8d7a4c3b2a1f0e9d8c7b6a5f; theme=dark; consent=analytics-none\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "Sec-Fetch-Dest: document\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "Sec-Fetch-User: ?1\r\n"
    "Priority: u=0, i\r\n"
    "Cache-Control: max-age=0\r\n"
)


def one_request(sock, host, kind):
    fields = BROWSER_FIELDS if kind == "browser" else ""
    sock.sendall(f"GET /index.html HTTP/1.1\r\nHost: {host}\r\n{fields}\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("closed before the answer's head")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("closed before the answer's body")
        body += chunk
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"unexpected answer: {head.splitlines()[0]!r}")


def main():
    port, count, host = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 60.0
    kind = sys.argv[5] if len(sys.argv) > 5 else "small"
    if kind not in ("small", "browser"):
        sys.exit(f"error: the request must be small or browser, not {kind}")
    held = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        one_request(sock, host, kind)
        held.append(sock)
    print(f"ready {len(held)}", flush=True)
    time.sleep(seconds)


if __name__ == "__main__":
    main()
