"""An app with long-lived connections, for the drain tests: /ws echoes WebSocket text
messages as "VERSION:TEXT", /events sends a server-sent event every 100 ms, /health and /
answer plainly. Standard library only; run in a sandbox on the host's python3.

usage: longlived_server.py VERSION PORT
"""
import base64
import hashlib
import http.server
import socketserver
import struct
import sys
import time

VERSION = sys.argv[1]
PORT = int(sys.argv[2])
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def read_exact(stream, count):
    data = b""
    while len(data) < count:
        chunk = stream.read(count - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def read_frame(stream):
    first, second = read_exact(stream, 2)
    length = second & 0x7F
    if length == 126:
        length = struct.unpack("!H", read_exact(stream, 2))[0]
    elif length == 127:
        length = struct.unpack("!Q", read_exact(stream, 8))[0]
    mask = read_exact(stream, 4) if second & 0x80 else b"\0\0\0\0"
    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(read_exact(stream, length)))
    return first & 0x0F, payload


def frame(opcode, payload):
    if len(payload) < 126:
        header = bytes([0x80 | opcode, len(payload)])
    else:
        header = bytes([0x80 | opcode, 126]) + struct.pack("!H", len(payload))
    return header + payload


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def plain(self, text):
        body = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/ws":
            self.websocket()
        elif self.path == "/events":
            self.events()
        elif self.path == "/health":
            self.plain("ok\n")
        else:
            self.plain("v%s\n" % VERSION)

    def websocket(self):
        key = self.headers.get("Sec-WebSocket-Key", "")
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        try:
            while True:
                opcode, payload = read_frame(self.rfile)
                if opcode == 8:
                    self.wfile.write(frame(8, payload[:2]))
                    break
                if opcode == 1:
                    self.wfile.write(frame(1, ("v%s:" % VERSION).encode() + payload))
                    self.wfile.flush()
        except (EOFError, OSError):
            pass
        self.close_connection = True

    def events(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        tick = 0
        try:
            while True:
                event = ("data: v%s tick %d\n\n" % (VERSION, tick)).encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                self.wfile.flush()
                tick += 1
                time.sleep(0.1)
        except OSError:
            pass
        self.close_connection = True


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


Server(("0.0.0.0", PORT), Handler).serve_forever()
