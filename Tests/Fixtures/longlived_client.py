"""Opens WebSockets and event streams through Baton's proxy and watches them across a swap,
for the drain tests. Prints "ready" once every connection is open and answered by the app;
then each WebSocket sends a message every 200 ms and each event stream reads its events.
Once a plain GET / answers something other than the first answer (the flip), the first
CLOSES WebSockets are closed by this client (the socket shut down, no close frame). Each connection
is followed until it ends or stdin closes; then one JSON line says, per connection, when
its last answer came and how it ended (wall-clock seconds). With `no-flip` (a daemon
hand-off: nothing flips) no flip is waited for.

usage: longlived_client.py PORT HOST WEBSOCKETS EVENT_STREAMS CLOSES [no-flip]
"""
import base64
import json
import os
import socket
import struct
import sys
import threading
import time

PORT, HOST = int(sys.argv[1]), sys.argv[2]
WEBSOCKETS, STREAMS, CLOSES = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
WAIT_FOR_FLIP = sys.argv[6:7] != ["no-flip"]
stop = threading.Event()


def connect():
    sock = socket.create_connection(("127.0.0.1", PORT), timeout=30)
    return sock


def read_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(1)
        if not chunk:
            raise EOFError("no response head")
        data += chunk
    return data.decode("latin-1")


def recv_exact(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def masked(opcode, payload):
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + body


def get_plain():
    try:
        sock = connect()
        sock.sendall(("GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % HOST).encode())
        data = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        sock.close()
        return data.split(b"\r\n\r\n", 1)[1].decode().strip()
    except (OSError, IndexError):
        return None


class WebSocket:
    def __init__(self):
        self.sock = connect()
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (HOST, key)).encode())
        head = read_head(self.sock)
        if " 101 " not in head.split("\r\n")[0]:
            raise RuntimeError("no upgrade: " + head)
        self.lock = threading.Lock()
        self.result = {"answers": 0, "last_answer": None, "last_version": None, "close_code": None,
                       "ended_at": None, "end": None, "closed_by_client": False}
        self.send("hello")
        opcode, payload = self.read()
        if opcode != 1 or not payload.endswith(b":hello"):
            raise RuntimeError("bad first echo %r" % payload)
        self.first = payload.split(b":")[0].decode()

    def send(self, text):
        with self.lock:
            self.sock.sendall(masked(1, text.encode()))

    def read(self):
        first, second = recv_exact(self.sock, 2)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack("!H", recv_exact(self.sock, 2))[0]
        elif length == 127:
            length = struct.unpack("!Q", recv_exact(self.sock, 8))[0]
        return first & 0x0F, recv_exact(self.sock, length)

    def close_by_client(self):
        # Gone without a close frame, as a closed browser tab goes: only the client can have
        # ended it, whatever the app does next.
        self.result["closed_by_client"] = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def run(self):
        def writer():
            count = 0
            while not stop.is_set() and self.result["end"] is None and not self.result["closed_by_client"]:
                try:
                    self.send("m%d" % count)
                except OSError:
                    return
                count += 1
                time.sleep(0.2)
        threading.Thread(target=writer, daemon=True).start()
        try:
            while True:
                opcode, payload = self.read()
                if opcode == 8:
                    self.result["close_code"] = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                    self.result["end"] = "close"
                    break
                self.result["answers"] += 1
                self.result["last_answer"] = time.time()
                self.result["last_version"] = payload.split(b":")[0].decode()
            # After a close frame the proxy closes the connection.
            self.sock.settimeout(5)
            while self.sock.recv(4096):
                pass
        except (EOFError, OSError):
            if self.result["end"] is None:
                self.result["end"] = "eof"
        self.result["ended_at"] = self.result["ended_at"] or time.time()


class EventStream:
    def __init__(self):
        self.sock = connect()
        self.sock.sendall(("GET /events HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n" % HOST).encode())
        head = read_head(self.sock)
        if " 200 " not in head.split("\r\n")[0] or "chunked" not in head.lower():
            raise RuntimeError("bad event stream head: " + head)
        self.result = {"events": 0, "last_event": None, "last_version": None, "end": None, "ended_at": None}
        self.buffer = b""
        if not self.next_chunk():
            raise RuntimeError("no first event")

    def line(self):
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def next_chunk(self):
        size = int(self.line(), 16)
        if size == 0:
            self.line()  # the empty line after the last chunk
            return False
        while len(self.buffer) < size + 2:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size + 2:]
        for event in data.decode().split("\n\n"):
            if event.startswith("data: "):
                self.result["events"] += 1
                self.result["last_event"] = time.time()
                self.result["last_version"] = event[len("data: "):].split(" ")[0]
        return True

    def run(self):
        try:
            while self.next_chunk():
                pass
            self.result["end"] = "clean"
        except (EOFError, OSError, ValueError):
            self.result["end"] = "cut"
        self.result["ended_at"] = time.time()


def main():
    sockets = [WebSocket() for _ in range(WEBSOCKETS)]
    streams = [EventStream() for _ in range(STREAMS)]
    first = get_plain()
    threads = [threading.Thread(target=c.run, daemon=True) for c in sockets + streams]
    for thread in threads:
        thread.start()
    print("ready", flush=True)
    flip = None
    while WAIT_FOR_FLIP and flip is None and not stop.is_set():
        answer = get_plain()
        if answer is not None and answer != first:
            flip = time.time()
            break
        time.sleep(0.05)
    for ws in sockets[:CLOSES]:
        ws.close_by_client()
    for thread in threads:
        thread.join(60)
    print(json.dumps({"first": first, "flip_seen": flip, "websockets": [w.result for w in sockets],
                      "event_streams": [s.result for s in streams]}), flush=True)


def watch_stdin():
    sys.stdin.read()
    stop.set()
    os._exit(3)


threading.Thread(target=watch_stdin, daemon=True).start()
main()
