import Foundation

/// HTTP/2 clients that do what curl and nghttp will not (malformed heads, CONNECT, trailers,
/// a flood of resets), written with Debian's python3-h2 and run as the test's own programs.
/// Each script gets `conn` (an h2 connection, header validation off so it can send malformed
/// requests), `sock` and helpers, and prints what it saw, one fact a line.
enum H2Client {
    static let prelude = #"""
        import socket, ssl, sys
        import h2.connection, h2.config, h2.events

        port = int(sys.argv[1])
        ca = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
        sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        if ca:
            context = ssl.create_default_context(cafile=ca)
            context.set_alpn_protocols(["h2"])
            sock = context.wrap_socket(sock, server_hostname="app.test")
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                           validate_outbound_headers=False, normalize_outbound_headers=False,
                                           validate_inbound_headers=False)
        conn = h2.connection.H2Connection(config=config)
        conn.initiate_connection()
        sock.sendall(conn.data_to_send())
        scheme = "https" if ca else "http"

        def head(method, path, authority="app.test", extra=()):
            fields = [(":method", method), (":authority", authority)]
            if method != "CONNECT":
                fields += [(":scheme", scheme), (":path", path)]
            return fields + list(extra)

        def flush():
            data = conn.data_to_send()
            if data:
                sock.sendall(data)

        def events():
            """Yields events until the server closes the connection (or 15 s of silence)."""
            while True:
                try:
                    data = sock.recv(65536)
                except (ConnectionResetError, socket.timeout, ssl.SSLError):
                    print("closed")
                    return
                if not data:
                    print("closed")
                    return
                for event in conn.receive_data(data):
                    yield event
                flush()

        def response(stream):
            """Status, body and trailers of `stream`, or how it was reset."""
            status, body, trailers = None, b"", []
            for event in events():
                if isinstance(event, h2.events.ResponseReceived) and event.stream_id == stream:
                    status = dict(event.headers)[":status"]
                elif isinstance(event, h2.events.DataReceived) and event.stream_id == stream:
                    body += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, stream)
                elif isinstance(event, h2.events.TrailersReceived) and event.stream_id == stream:
                    trailers = event.headers
                elif isinstance(event, h2.events.StreamReset) and event.stream_id == stream:
                    print("reset", int(event.error_code))
                    return
                elif isinstance(event, h2.events.StreamEnded) and event.stream_id == stream:
                    print("status", status)
                    print("body", body.decode())
                    for name, value in trailers:
                        print("trailer", name, value)
                    return
                elif isinstance(event, h2.events.ConnectionTerminated):
                    print("goaway", int(event.error_code))

        """#

    /// Runs `script` after the prelude against `port` (over TLS when `caFile` is given).
    static func run(_ script: String, port: Int, caFile: String? = nil) async throws -> ToolResult {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("baton-h2-\(UUID().uuidString).py").path
        try (prelude + script).write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        return try await ClientTool.run(["/usr/bin/python3", file, String(port), caFile ?? ""])
    }
}
