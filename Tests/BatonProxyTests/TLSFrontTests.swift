import BatonProxy
import Foundation
import Testing

/// The HTTPS listener end to end with real clients: curl over HTTP/1.1 and HTTP/2, openssl
/// s_client for the certificate each hello gets, the scheme the upstream is told.
@Suite(.serialized) struct TLSFrontTests {
    @Test func curlGetsTheAppOverHTTP11AndHTTP2() async throws {
        try await TLSFixture.with { fixture in
            let http1 = try await fixture.curl("app.test", "/one", ["--http1.1"])
            #expect(http1.status == 0, "\(http1.errors)")
            #expect(http1.httpVersion == "1.1")
            #expect(http1.code == 200)
            #expect(http1.body == "hello /one")
            let http2 = try await fixture.curl("app.test", "/two?x=1", ["--http2"])
            #expect(http2.status == 0, "\(http2.errors)")
            #expect(http2.httpVersion == "2")
            #expect(http2.code == 200)
            #expect(http2.body == "hello /two?x=1")
            // A wildcard route through its wildcard certificate, and a POST body over HTTP/2.
            let upload = try await fixture.curl("a.wild.test", "/upload", ["--http2", "--data-binary", "0123456789"])
            #expect(upload.code == 200)
            #expect(upload.body == "received 10")
        }
    }

    @Test func theUpstreamIsToldTheClientCameOverHTTPS() async throws {
        try await TLSFixture.with { fixture in
            for version in ["--http1.1", "--http2"] {
                #expect(try await fixture.curl("app.test", "/who", [version, "-H", "X-Forwarded-Proto: http"]).code == 200)
                let seen = try #require(fixture.backend.log.requests.last)
                #expect(seen.headers("x-forwarded-proto") == ["https"], "\(version)")
                #expect(seen.headers("forwarded") == ["for=127.0.0.1;proto=https;host=\"app.test:\(fixture.tlsPort)\""], "\(version)")
                #expect(seen.header("host") == "app.test:\(fixture.tlsPort)", "\(version): :authority is the Host")
            }
            // The plain listener of the same proxy still says http.
            #expect(try await fixture.plainCurl("app.test", "/who").code == 200)
            #expect(fixture.backend.log.requests.last?.headers("x-forwarded-proto") == ["http"])
        }
    }

    /// The certificate `openssl s_client` is shown for `serverName` (nil: a hello without SNI).
    static func presented(_ fixture: TLSFixture, serverName: String?) async throws -> ToolResult {
        let name = serverName.map { ["-servername", $0] } ?? ["-noservername"]
        return try await ClientTool.run(
            ["/usr/bin/openssl", "s_client", "-connect", "127.0.0.1:\(fixture.tlsPort)", "-CAfile", fixture.certificates.caFile,
             "-verify_return_error", "-brief"] + name,
            input: "")
    }

    @Test func sniPicksTheExactCertificateThenTheWildcard() async throws {
        try await TLSFixture.with { fixture in
            let exact = try await Self.presented(fixture, serverName: "app.test")
            #expect(exact.all.contains("Peer certificate: CN = app.test"), "\(exact.all)")
            #expect(exact.all.contains("Verification: OK"), "\(exact.all)")
            let wildcard = try await Self.presented(fixture, serverName: "deep.wild.test")
            #expect(wildcard.all.contains("Peer certificate: CN = *.wild.test"), "\(wildcard.all)")
            let upperCase = try await Self.presented(fixture, serverName: "APP.Test")
            #expect(upperCase.all.contains("Peer certificate: CN = app.test"), "\(upperCase.all)")
        }
    }

    @Test func aHelloWithoutSNIGetsTheDefaultCertificateWhenThereIsOne() async throws {
        try await TLSFixture.with(fallback: true) { fixture in
            let result = try await Self.presented(fixture, serverName: nil)
            #expect(result.all.contains("Peer certificate: CN = default.test"), "\(result.all)")
            // An IP address is no server name (RFC 6066), though some clients send one.
            let address = try await Self.presented(fixture, serverName: "127.0.0.1")
            #expect(address.all.contains("Peer certificate: CN = default.test"), "\(address.all)")
            // A name with no certificate is refused even so.
            let unknown = try await Self.presented(fixture, serverName: "nobody.test")
            #expect(unknown.all.contains("unrecognized name"), "\(unknown.all)")
        }
    }

    @Test func aHelloWithoutSNIOrForAnUnknownNameIsRefusedWithAnAlertWhenThereIsNoDefault() async throws {
        try await TLSFixture.with(fallback: false) { fixture in
            for name in [nil, "nobody.test"] {
                let result = try await Self.presented(fixture, serverName: name)
                #expect(result.status != 0)
                #expect(result.all.contains("unrecognized name"), "\(result.all)")
            }
            let curl = try await fixture.curl("nobody.test", "/")
            #expect(curl.status != 0)
            #expect(curl.errors.contains("unrecognized name"), "\(curl.errors)")
            // The listener goes on serving names it has.
            #expect(try await fixture.curl("app.test", "/").code == 200)
        }
    }

    @Test func responseTrailersReachAnHTTP2ClientAsATrailingHeadersFrame() async throws {
        try await TLSFixture.with { fixture in
            let result = try await ClientTool.run(
                ["/usr/bin/nghttp", "-v", "-y", "--timeout=20", "https://127.0.0.1:\(fixture.tlsPort)/trailers",
                 "-H", ":authority: app.test"])
            #expect(result.status == 0, "\(result.all)")
            // The trailer section comes after the body, in a HEADERS frame that ends the stream.
            let text = result.output
            let body = try #require(text.range(of: "data"))
            let checksum = try #require(text.range(of: "x-checksum: abc123"))
            #expect(body.lowerBound < checksum.lowerBound)
            #expect(text.contains("x-done: yes"))
            #expect(!text.contains("6.6.6.6"), "forwarding fields never pass in trailers")
        }
    }

    @Test func aWebSocketUpgradeOverTLSIsTunnelledByteForByte() async throws {
        try await TLSFixture.with { fixture in
            let upstream = try UpgradeEchoServer()
            defer { upstream.stop() }
            fixture.proxy.install(RouteTable([("ws.test", Route(app: "ws", target: .address(host: "127.0.0.1", port: upstream.port)))]))
            let script = FileManager.default.temporaryDirectory.appendingPathComponent("baton-wss-\(UUID().uuidString).py").path
            try #"""
                import socket, ssl, sys
                context = ssl.create_default_context(cafile=sys.argv[2])
                context.set_alpn_protocols(["http/1.1"])
                sock = context.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=15),
                                           server_hostname="app.test")
                sock.sendall(b"GET /chat HTTP/1.1\r\nHost: ws.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
                seen = b""
                while not seen.endswith(b"hello"):
                    seen += sock.recv(1)
                print(seen.split(b"\r\n")[0].decode())
                payload = bytes(i % 251 for i in range(100000))
                sock.sendall(payload)
                echoed = b""
                while len(echoed) < len(payload):
                    echoed += sock.recv(65536)
                print("echoed", echoed == payload)
                """#.write(toFile: script, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: script) }
            let result = try await ClientTool.run(["/usr/bin/python3", script, String(fixture.tlsPort), fixture.certificates.caFile])
            #expect(result.output == "HTTP/1.1 101 Switching Protocols\necho" + "ed True\n", "\(result.all)")
        }
    }
}
