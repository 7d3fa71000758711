#!/usr/bin/env python3
"""Holds N idle keep-alive connections open to an HTTP front end on 127.0.0.1.

usage: idle_connections.py PORT N HOST [SECONDS]

Each connection sends one small GET and reads its whole answer, so the front end has
served it and now keeps it idle, waiting for a next request. Prints "ready N" once all
are open, then sleeps (at most SECONDS, default 60) until it is killed, so that the
caller can measure the front end's memory with N idle connections. Used by
scripts/bench-proxy.
"""
import socket
import sys
import time


def one_request(sock, host):
    sock.sendall(f"GET /index.html HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
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
    held = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        one_request(sock, host)
        held.append(sock)
    print(f"ready {len(held)}", flush=True)
    time.sleep(seconds)


if __name__ == "__main__":
    main()
