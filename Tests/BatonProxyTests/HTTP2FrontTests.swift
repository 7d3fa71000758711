import BatonProxy
import Foundation
import Testing

/// HTTP/2 to clients: h2c with prior knowledge on the plain port, many streams on one
/// connection, trailers both ways, and what HTTP/2 cannot carry through the proxy.
@Suite(.serialized) struct HTTP2FrontTests {
    @Test func h2cWithPriorKnowledgeIsServedOnThePlainPortBesideHTTP11() async throws {
        try await TLSFixture.with { fixture in
            let h2c = try await fixture.plainCurl("app.test", "/h2c", ["--http2-prior-knowledge"])
            #expect(h2c.status == 0, "\(h2c.errors)")
            #expect(h2c.httpVersion == "2")
            #expect(h2c.body == "hello /h2c")
            #expect(fixture.backend.log.requests.last?.headers("x-forwarded-proto") == ["http"])
            #expect(fixture.backend.log.requests.last?.header("host") == "app.test:\(fixture.port)")
            let http1 = try await fixture.plainCurl("app.test", "/h1", ["--http1.1"])
            #expect(http1.httpVersion == "1.1")
            #expect(http1.body == "hello /h1")
            // A request that starts like the preface but is not HTTP/2 is HTTP/1.1's to judge.
            let client = try fixture.plain.client()
            try client.send("PRI * HTTP/1.1\r\nHost: app.test\r\n\r\n")
            #expect(try client.readResponse().status == 400)
        }
    }

    @Test func manyConcurrentStreamsOnFewConnectionsAllSucceed() async throws {
        try await TLSFixture.with { fixture in
            // 2 connections × 150 streams in flight each, over the 100 a connection may have
            // open: the client queues the rest, nothing is refused.
            for (scheme, port) in [("https", fixture.tlsPort), ("http", fixture.port)] {
                let result = try await ClientTool.run(
                    ["/usr/bin/h2load", "-n", "3000", "-c", "2", "-m", "150", "--connect-to=127.0.0.1:\(port)",
                     "\(scheme)://app.test:\(port)/many"])
                #expect(result.output.contains("3000 succeeded, 0 failed, 0 errored"), "\(result.all)")
                #expect(result.output.contains("status codes: 3000 2xx"), "\(result.all)")
                #expect(result.output.contains("Application protocol: h2") || result.output.contains("h2c"), "\(result.all)")
            }
        }
    }

    @Test func requestTrailersReachTheUpstreamOverHTTP2() async throws {
        try await TLSFixture.with { fixture in
            let result = try await H2Client.run(#"""
                stream = conn.get_next_available_stream_id()
                conn.send_headers(stream, head("POST", "/upload"))
                conn.send_data(stream, b"hello")
                conn.send_headers(stream, [("x-signature", "s1"), ("x-forwarded-for", "6.6.6.6")], end_stream=True)
                flush()
                response(stream)
                """#, port: fixture.tlsPort, caFile: fixture.certificates.caFile)
            #expect(result.output.contains("status 200"), "\(result.all)")
            #expect(result.output.contains("body received 5"), "\(result.all)")
            let seen = try #require(fixture.backend.log.requests.last)
            #expect(seen.trailers.map { $0.0.lowercased() } == ["x-signature"], "\(seen.trailers)")
            #expect(seen.headers("x-forwarded-for") == ["127.0.0.1"])
        }
    }

    @Test func connectOverHTTP2Is405AndReachesNoUpstream() async throws {
        try await TLSFixture.with { fixture in
            let result = try await H2Client.run(#"""
                stream = conn.get_next_available_stream_id()
                conn.send_headers(stream, head("CONNECT", None, authority="app.test:443"))
                flush()
                response(stream)
                """#, port: fixture.port)
            #expect(result.output.contains("status 405"), "\(result.all)")
            #expect(fixture.backend.log.requests.isEmpty)
        }
    }

    @Test func aHostFieldNamingAnotherHostThanAuthorityResetsTheStream() async throws {
        try await TLSFixture.with { fixture in
            let result = try await H2Client.run(#"""
                stream = conn.get_next_available_stream_id()
                conn.send_headers(stream, head("GET", "/smuggled", extra=[("host", "refused.test")]), end_stream=True)
                flush()
                response(stream)
                # The connection goes on serving its other streams.
                stream = conn.get_next_available_stream_id()
                conn.send_headers(stream, head("GET", "/after", extra=[("host", "APP.test")]), end_stream=True)
                flush()
                response(stream)
                """#, port: fixture.port)
            #expect(result.output.contains("reset 1"), "PROTOCOL_ERROR: \(result.all)")
            #expect(result.output.contains("body hello /after"), "\(result.all)")
            #expect(fixture.backend.log.uris == ["/after"])
        }
    }

    @Test func upgradeAndConnectionFieldsOverHTTP2AreRefusedAsMalformed() async throws {
        try await TLSFixture.with { fixture in
            let result = try await H2Client.run(#"""
                stream = conn.get_next_available_stream_id()
                conn.send_headers(stream, head("GET", "/ws", extra=[("upgrade", "websocket"), ("connection", "upgrade")]),
                                  end_stream=True)
                flush()
                response(stream)
                """#, port: fixture.port)
            #expect(result.output.contains("reset 1"), "\(result.all)")
            #expect(fixture.backend.log.requests.isEmpty)
        }
    }

    @Test func aRapidResetFloodEndsTheConnectionAndTheProxyServesOn() async throws {
        try await TLSFixture.with { fixture in
            let result = try await H2Client.run(#"""
                import h2.errors
                for _ in range(1000):
                    stream = conn.get_next_available_stream_id()
                    conn.send_headers(stream, head("GET", "/slow/1000"), end_stream=True)
                    conn.reset_stream(stream, error_code=h2.errors.ErrorCodes.CANCEL)
                try:
                    flush()
                except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                    print("closed")
                for event in events():
                    if isinstance(event, h2.events.ConnectionTerminated):
                        print("goaway", int(event.error_code))
                """#, port: fixture.tlsPort, caFile: fixture.certificates.caFile)
            #expect(result.output.contains("goaway 11") || result.output.contains("closed"), "ENHANCE_YOUR_CALM: \(result.all)")
            #expect(result.output.contains("closed"), "\(result.all)")
            #expect(try await fixture.curl("app.test", "/after", ["--http2"]).body == "hello /after")
            #expect(await eventually { fixture.proxy.inFlight(target: fixture.plain.backendTarget) == 0 })
        }
    }

    @Test func anHTTP2ConnectionWithoutStreamsIsClosedAfterTheHeaderTimeoutThenTheIdleTimeout() async throws {
        try await TLSFixture.with(configure: {
            $0.clientHeaderTimeout = .milliseconds(500)
            $0.idleTimeout = .milliseconds(800)
        }) { fixture in
            // Never a stream: gone once the header timeout has passed.
            let silent = try await H2Client.run(#"""
                for event in events():
                    if isinstance(event, h2.events.ConnectionTerminated):
                        print("goaway", int(event.error_code))
                """#, port: fixture.tlsPort, caFile: fixture.certificates.caFile)
            #expect(silent.output.contains("goaway 0"), "\(silent.all)")
            #expect(silent.output.contains("closed"), "\(silent.all)")
            // One request, then nothing: gone once the idle timeout has passed.
            let idle = try await H2Client.run(#"""
                stream = conn.get_next_available_stream_id()
                conn.send_headers(stream, head("GET", "/once"), end_stream=True)
                flush()
                response(stream)
                for event in events():
                    if isinstance(event, h2.events.ConnectionTerminated):
                        print("goaway", int(event.error_code), event.last_stream_id)
                """#, port: fixture.port)
            #expect(idle.output.contains("body hello /once"), "\(idle.all)")
            #expect(idle.output.contains("goaway 0 1"), "\(idle.all)")
            #expect(idle.output.contains("closed"), "\(idle.all)")
        }
    }

    @Test func anHTTP2RequestBodyThatStopsComingIs408AndTheConnectionServesOn() async throws {
        try await TLSFixture.with(configure: { $0.clientBodyTimeout = .milliseconds(500) }) { fixture in
            let result = try await H2Client.run(#"""
                stream = conn.get_next_available_stream_id()
                conn.send_headers(stream, head("POST", "/upload", extra=[("content-length", "100")]))
                conn.send_data(stream, b"only a part")
                flush()
                response(stream)
                stream = conn.get_next_available_stream_id()
                conn.send_headers(stream, head("GET", "/after"), end_stream=True)
                flush()
                response(stream)
                """#, port: fixture.port)
            #expect(result.output.contains("status 408"), "\(result.all)")
            #expect(result.output.contains("body hello /after"), "\(result.all)")
            #expect(fixture.backend.log.requests.first?.complete == false, "the upstream never got the whole request")
        }
    }

    @Test func anHTTP2HeaderBlockOverTheLimitEndsTheConnection() async throws {
        try await TLSFixture.with { fixture in
            let result = try await H2Client.run(#"""
                # Once the client has acknowledged the proxy's settings, 64 KiB of fields pass
                # (40 KiB here, past the 16 KiB HTTP/2 implementations start from).
                for event in events():
                    if isinstance(event, h2.events.RemoteSettingsChanged):
                        break
                flush()
                stream = conn.get_next_available_stream_id()
                conn.send_headers(stream, head("GET", "/big-cookie", extra=[("cookie", "a" * 40000)]), end_stream=True)
                flush()
                response(stream)
                stream = conn.get_next_available_stream_id()
                conn.send_headers(stream, head("GET", "/too-big", extra=[("cookie", "a" * 70000)]), end_stream=True)
                flush()
                for event in events():
                    if isinstance(event, h2.events.ConnectionTerminated):
                        print("goaway", int(event.error_code))
                """#, port: fixture.port)
            #expect(result.output.contains("body hello /big-cookie"), "\(result.all)")
            #expect(result.output.contains("goaway"), "\(result.all)")
            #expect(result.output.hasSuffix("closed\n"), "\(result.all)")
            #expect(fixture.backend.log.uris == ["/big-cookie"])
        }
    }

    @Test func aPrefaceSplitAcrossReadsIsStillHTTP2() async throws {
        try await TLSFixture.with { fixture in
            let script = FileManager.default.temporaryDirectory.appendingPathComponent("baton-split-\(UUID().uuidString).py").path
            try #"""
                import socket, sys, time
                import h2.connection, h2.events
                sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=15)
                conn = h2.connection.H2Connection()
                conn.initiate_connection()
                data = conn.data_to_send()
                # "PRI * HT", then the rest a moment later: the proxy must wait, not decide.
                sock.sendall(data[:8])
                time.sleep(0.3)
                sock.sendall(data[8:])
                conn.send_headers(1, [(":method", "GET"), (":path", "/split"), (":scheme", "http"),
                                      (":authority", "app.test")], end_stream=True)
                sock.sendall(conn.data_to_send())
                body = b""
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    done = False
                    for event in conn.receive_data(chunk):
                        if isinstance(event, h2.events.DataReceived):
                            body += event.data
                        if isinstance(event, h2.events.StreamEnded):
                            done = True
                    sock.sendall(conn.data_to_send())
                    if done:
                        break
                print(body.decode())
                """#.write(toFile: script, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: script) }
            let result = try await ClientTool.run(["/usr/bin/python3", script, String(fixture.port)])
            #expect(result.output == "hello /split\n", "\(result.all)")
        }
    }
}
