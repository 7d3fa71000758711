#!/usr/bin/python3
"""An HTTP/2 server without TLS (h2c, prior knowledge) for Baton's proxy tests, on python3-h2.

Usage: h2c_server.py STATS_FILE [--max-streams N] [--port N --in-sandbox]

Listens on 127.0.0.1 on a free port (or --port) and prints "listening PORT" once. Exits when
its stdin ends, so it dies with the test process that started it; --in-sandbox (an app in a
Baton sandbox, whose stdin is empty) serves until it is stopped. After every change it rewrites
STATS_FILE (JSON): connections accepted and open, the most streams one connection carried at
once, requests by path, bytes /sink took in before /release, RST_STREAMs received, and response
bytes sent (written
whenever the peer's flow-control window stops a response, and at each response's end).

Paths:
  /echo            answers the request body once it ended; headers x-seen-te and
                   x-seen-authority; trailers grpc-status 0, grpc-message, x-request-trailers
  /bidi            answers at once, echoes each DATA frame as it comes, and after the request's
                   end sends trailers grpc-status 0 and x-chunks (how many frames it echoed)
  /hold?n=N        answers no stream until N /hold streams are open at once (or 20 s passed);
                   each body names how many were held
  /sink            takes the body without granting flow-control window (so the sender must
                   stop) until some request asks for /release; then "received N"
  /release         lets /sink go on
  /big/N           N bytes, sent as the proxy's window allows
  /trailers-only   a gRPC error as one HEADERS frame: :status 200, grpc-status 12, end of stream
  /huge-headers    a response header of 100 KiB
  /malformed       a response head HTTP/2 forbids: an upper-case field name, a connection field
  /drop-mid        a head and "partial", then the TCP connection is cut
  /goaway-mid      a head and "partial", then GOAWAY and the connection closes
  /goaway-before   GOAWAY naming an earlier stream as the last one taken, and the connection closes
  /status/NNN      an empty response with status NNN
  /goaway-flood    1000 GOAWAY frames (each naming this stream as the last one taken), then
                   "after the flood"
  anything else    "hello PATH"
"""

import asyncio
import json
import os
import sys
import threading

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
from h2.settings import SettingCodes

STATS_FILE = sys.argv[1]
MAX_STREAMS = int(sys.argv[sys.argv.index("--max-streams") + 1]) if "--max-streams" in sys.argv else None
PORT = int(sys.argv[sys.argv.index("--port") + 1]) if "--port" in sys.argv else 0
IN_SANDBOX = "--in-sandbox" in sys.argv

stats = {"connections": 0, "open": 0, "max_concurrent": 0, "requests": {}, "sink_before_release": 0, "sent": 0, "resets": 0}
released = False
sinks = []  # (protocol, stream_id) of /sink streams
holds = []  # (protocol, stream_id, wanted, when)


def write_stats():
    temporary = STATS_FILE + ".tmp"
    with open(temporary, "w") as out:
        json.dump(stats, out)
    os.replace(temporary, STATS_FILE)


class Stream:
    def __init__(self, headers):
        self.headers = headers
        self.path = headers.get(":path", "/")
        self.body = bytearray()
        self.received = 0
        self.chunks = 0
        self.trailers = []
        self.pending = bytearray()  # response bytes waiting for window
        self.end_after_pending = None  # trailers (list) or True to end after pending bytes
        self.held_bytes = 0
        self.request_ended = False


class H2Server(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.streams = {}
        self.open_streams = set()
        self.raw = bytearray()
        self.preface_left = 24
        # Unchecked and unchanged outbound headers: /malformed sends what HTTP/2 forbids.
        config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8",
                                           validate_outbound_headers=False, normalize_outbound_headers=False)
        self.conn = h2.connection.H2Connection(config=config)
        if MAX_STREAMS is not None:
            self.conn.local_settings = h2.settings.Settings(
                client=False, initial_values={SettingCodes.MAX_CONCURRENT_STREAMS: MAX_STREAMS})
        self.conn.initiate_connection()
        self.flush()
        stats["connections"] += 1
        stats["open"] += 1
        write_stats()

    def connection_lost(self, exc):
        stats["open"] -= 1
        write_stats()
        global sinks, holds
        sinks = [entry for entry in sinks if entry[0] is not self]
        holds = [entry for entry in holds if entry[0] is not self]

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.transport.write(data)

    def count_resets(self, data):
        # RST_STREAM frames as sent, those for streams already closed too (python-h2 reports
        # no event for them), read from the raw bytes after the 24-byte client preface.
        self.raw += data
        if self.preface_left:
            taken = min(self.preface_left, len(self.raw))
            del self.raw[:taken]
            self.preface_left -= taken
        while len(self.raw) >= 9:
            length = int.from_bytes(self.raw[0:3], "big")
            if len(self.raw) < 9 + length:
                break
            if self.raw[3] == 3:
                stats["resets"] += 1
                write_stats()
            del self.raw[:9 + length]

    def data_received(self, data):
        self.count_resets(data)
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            self.flush()
            self.transport.close()
            return
        for event in events:
            self.handle(event)
        self.flush()

    def handle(self, event):
        if isinstance(event, h2.events.RequestReceived):
            headers = dict(event.headers)
            stream = Stream(headers)
            self.streams[event.stream_id] = stream
            self.open_streams.add(event.stream_id)
            stats["max_concurrent"] = max(stats["max_concurrent"], len(self.open_streams))
            path = stream.path.split("?")[0]
            key = "/big" if path.startswith("/big/") else path
            stats["requests"][key] = stats["requests"].get(key, 0) + 1
            write_stats()
            self.started(event.stream_id, stream)
            if event.stream_ended:
                self.ended(event.stream_id)
        elif isinstance(event, h2.events.DataReceived):
            stream = self.streams.get(event.stream_id)
            if stream is None:
                return
            stream.received += len(event.data)
            if stream.path == "/sink" and not released:
                stream.held_bytes += event.flow_controlled_length
                stats["sink_before_release"] += len(event.data)
                write_stats()
            else:
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            if stream.path == "/bidi":
                if event.data:
                    stream.chunks += 1
                    self.send_body(event.stream_id, bytes(event.data))
            elif stream.path != "/sink":
                stream.body += event.data
        elif isinstance(event, h2.events.TrailersReceived):
            stream = self.streams.get(event.stream_id)
            if stream is not None:
                stream.trailers = list(event.headers)
        elif isinstance(event, h2.events.StreamEnded):
            self.ended(event.stream_id)
        elif isinstance(event, h2.events.StreamReset):
            self.closed(event.stream_id)
        elif isinstance(event, h2.events.WindowUpdated):
            for stream_id in list(self.streams):
                self.send_pending(stream_id)

    def started(self, stream_id, stream):
        path = stream.path.split("?")[0]
        if path == "/bidi":
            self.conn.send_headers(stream_id, [(":status", "200"), ("content-type", "application/grpc")])
        elif path == "/hold":
            wanted = int(stream.path.split("n=")[1]) if "n=" in stream.path else 1
            holds.append((self, stream_id, wanted, asyncio.get_running_loop().time()))
            waiting = len(holds)
            if waiting >= wanted:
                release_holds(waiting)
        elif path == "/sink":
            sinks.append((self, stream_id))
        elif path == "/release":
            release_sinks()
        elif path == "/trailers-only":
            self.conn.send_headers(stream_id, [(":status", "200"), ("content-type", "application/grpc"),
                                               ("grpc-status", "12"), ("grpc-message", "no such method")], end_stream=True)
            self.closed(stream_id)
        elif path == "/huge-headers":
            self.conn.send_headers(stream_id, [(":status", "200"), ("x-huge", "h" * (100 * 1024))], end_stream=True)
            self.closed(stream_id)
        elif path == "/malformed":
            self.conn.send_headers(stream_id, [(":status", "200"), ("X-Upper", "1"), ("connection", "close")], end_stream=True)
            self.closed(stream_id)
        elif path in ("/drop-mid", "/goaway-mid"):
            self.conn.send_headers(stream_id, [(":status", "200"), ("content-type", "text/plain")])
            self.conn.send_data(stream_id, b"partial")
            if path == "/goaway-mid":
                self.conn.close_connection(error_code=h2.errors.ErrorCodes.NO_ERROR, last_stream_id=stream_id)
                self.flush()
                self.transport.close()
            else:
                self.flush()
                self.transport.abort()
        elif path == "/goaway-before":
            self.conn.close_connection(error_code=h2.errors.ErrorCodes.NO_ERROR, last_stream_id=max(stream_id - 2, 0))
            self.flush()
            self.transport.close()
        elif path == "/goaway-flood":
            self.flush()
            goaway = (8).to_bytes(3, "big") + bytes([7, 0]) + (0).to_bytes(4, "big") \
                + stream_id.to_bytes(4, "big") + (0).to_bytes(4, "big")
            self.transport.write(goaway * 1000)
        elif path.startswith("/big/"):
            size = int(path[len("/big/"):])
            self.conn.send_headers(stream_id, [(":status", "200"), ("content-length", str(size))])
            self.send_body(stream_id, b"b" * size, end=True)

    def ended(self, stream_id):
        stream = self.streams.get(stream_id)
        if stream is None:
            return
        stream.request_ended = True
        path = stream.path.split("?")[0]
        if path == "/echo":
            self.conn.send_headers(stream_id, [
                (":status", "200"), ("content-type", "application/octet-stream"),
                ("x-seen-te", stream.headers.get("te", "-")), ("x-seen-authority", stream.headers.get(":authority", "-"))])
            trailers = [("grpc-status", "0"), ("grpc-message", "echoed"),
                        ("x-request-trailers", ";".join(f"{name}={value}" for name, value in stream.trailers) or "-")]
            self.send_body(stream_id, bytes(stream.body), end=trailers)
        elif path == "/bidi":
            self.send_body(stream_id, b"", end=[("grpc-status", "0"), ("x-chunks", str(stream.chunks))])
        elif path == "/sink":
            if released:
                self.answer(stream_id, f"received {stream.received}")
        elif path in ("/hold", "/trailers-only", "/huge-headers", "/malformed", "/drop-mid", "/goaway-mid", "/goaway-before") \
                or path.startswith("/big/"):
            pass
        elif path == "/goaway-flood":
            self.answer(stream_id, "after the flood")
        elif path.startswith("/status/"):
            self.conn.send_headers(stream_id, [(":status", path[len("/status/"):])], end_stream=True)
            self.closed(stream_id)
        else:
            self.answer(stream_id, f"hello {stream.path}")

    def answer(self, stream_id, text):
        body = text.encode()
        self.conn.send_headers(stream_id, [(":status", "200"), ("content-type", "text/plain"),
                                           ("content-length", str(len(body)))])
        self.send_body(stream_id, body, end=True)

    def send_body(self, stream_id, data, end=None):
        stream = self.streams.get(stream_id)
        if stream is None:
            return
        stream.pending += data
        if end is not None:
            stream.end_after_pending = end
        self.send_pending(stream_id)

    def send_pending(self, stream_id):
        stream = self.streams.get(stream_id)
        if stream is None:
            return
        try:
            while stream.pending:
                window = min(self.conn.local_flow_control_window(stream_id), self.conn.max_outbound_frame_size)
                if window <= 0:
                    # Blocked by the proxy's flow control: a test reads how far it got.
                    write_stats()
                    break
                chunk = bytes(stream.pending[:window])
                del stream.pending[:window]
                self.conn.send_data(stream_id, chunk)
                stats["sent"] += len(chunk)
            if not stream.pending and stream.end_after_pending is not None:
                end = stream.end_after_pending
                stream.end_after_pending = None
                write_stats()
                if end is True:
                    self.conn.end_stream(stream_id)
                else:
                    self.conn.send_headers(stream_id, end, end_stream=True)
                self.closed(stream_id)
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
            self.closed(stream_id)
        self.flush()

    def closed(self, stream_id):
        self.open_streams.discard(stream_id)
        stream = self.streams.get(stream_id)
        if stream is not None and not stream.pending and stream.end_after_pending is None:
            # Kept while it has bytes to send; otherwise forgotten.
            self.streams.pop(stream_id, None)


def release_holds(count):
    global holds
    waiting, holds = holds, []
    for protocol, stream_id, _, _ in waiting:
        protocol.answer(stream_id, f"held {count}")
        protocol.open_streams.discard(stream_id)
        protocol.flush()


def release_sinks():
    global released
    released = True
    for protocol, stream_id in sinks:
        stream = protocol.streams.get(stream_id)
        if stream is None:
            continue
        if stream.held_bytes:
            protocol.conn.acknowledge_received_data(stream.held_bytes, stream_id)
            stream.held_bytes = 0
        if stream.request_ended:
            # Its body ended while held: it answers now.
            protocol.answer(stream_id, f"received {stream.received}")
        protocol.flush()


def watch_stdin():
    # The test process holds the other end: end of file means it is gone.
    while sys.stdin.buffer.read(1):
        pass
    os._exit(0)


async def main():
    loop = asyncio.get_running_loop()

    async def expire_holds():
        while True:
            await asyncio.sleep(1)
            if holds and loop.time() - holds[0][3] > 20:
                release_holds(len(holds))

    server = await loop.create_server(H2Server, "127.0.0.1", PORT)
    port = server.sockets[0].getsockname()[1]
    write_stats()
    print(f"listening {port}", flush=True)
    if not IN_SANDBOX:
        threading.Thread(target=watch_stdin, daemon=True).start()
    expiry = asyncio.create_task(expire_holds())
    async with server:
        await server.serve_forever()
    expiry.cancel()


if __name__ == "__main__":
    asyncio.run(main())
