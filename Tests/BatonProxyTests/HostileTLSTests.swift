import BatonProxy
import Foundation
import Testing

/// Clients that get TLS wrong, by mistake or on purpose: each must get a clear answer or a
/// close, never hang a connection past the header timeout, and never stop the listener.
@Suite(.serialized) struct HostileTLSTests {
    /// A fixture whose header timeout (which bounds a handshake) is short enough to wait out.
    static func with(_ body: (TLSFixture) async throws -> Void) async throws {
        try await TLSFixture.with(configure: { $0.clientHeaderTimeout = .milliseconds(500) }) { fixture in
            try await body(fixture)
            // Whatever the client did, the listener serves the next one.
            #expect(try await fixture.curl("app.test", "/next", ["--http2"]).body == "hello /next")
        }
    }

    @Test func plainHTTPToTheTLSPortGetsAPlainText400() async throws {
        try await Self.with { fixture in
            let client = try RawClient(port: fixture.tlsPort)
            try client.send("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 400)
            #expect(response.text.contains("plain HTTP was sent to the HTTPS port"), "\(response.text)")
            #expect(client.isClosed())
            let curl = try await ClientTool.run(["/usr/bin/curl", "-sS", "--max-time", "20", "http://127.0.0.1:\(fixture.tlsPort)/"])
            #expect(curl.output.contains("HTTPS port"), "\(curl.all)")
            #expect(fixture.backend.log.requests.isEmpty)
        }
    }

    @Test func aTLSHelloToThePlainPortGets400AndAClose() async throws {
        try await Self.with { fixture in
            let client = try RawClient(port: fixture.port)
            try client.send(Self.helloStart + [UInt8](repeating: 0x41, count: 200))
            let response = try client.readResponse()
            #expect(response.status == 400)
            #expect(client.isClosed())
            let openssl = try await ClientTool.run(
                ["/usr/bin/openssl", "s_client", "-connect", "127.0.0.1:\(fixture.port)", "-servername", "app.test", "-brief"])
            #expect(openssl.status != 0, "\(openssl.all)")
        }
    }

    /// A TLS record header announcing a 512-byte ClientHello.
    static let helloStart: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC]

    @Test func aGarbageHelloIsClosed() async throws {
        try await Self.with { fixture in
            var random = SystemRandomNumberGenerator()
            for _ in 0..<20 {
                let client = try RawClient(port: fixture.tlsPort)
                let garbage = (0..<512).map { _ in UInt8.random(in: 0...255, using: &random) }
                try client.send(Self.helloStart + garbage)
                // An alert, perhaps, then the close.
                #expect(client.drainsToClose(), "closed after the garbage")
            }
        }
    }

    @Test func aTruncatedHelloAndASilentClientAreClosedAtTheHeaderTimeout() async throws {
        try await Self.with { fixture in
            let truncated = try RawClient(port: fixture.tlsPort)
            try truncated.send(Self.helloStart + [0x03, 0x03])
            let silent = try RawClient(port: fixture.tlsPort)
            let preface = try RawClient(port: fixture.tlsPort)
            // Past the first byte, a record that never completes.
            try preface.send([0x16])
            for client in [truncated, silent, preface] {
                #expect(client.drainsToClose(), "closed by the proxy before the client's 10 s read timeout")
            }
        }
    }

    @Test func aClientThatCompletesTheHandshakeAndSaysNothingIsClosedAtTheHeaderTimeout() async throws {
        try await Self.with { fixture in
            for alpn in ["http/1.1", "h2"] {
                // s_client sends nothing after the handshake (no input) and waits for the close.
                let result = try await ClientTool.run(
                    ["/usr/bin/openssl", "s_client", "-quiet", "-connect", "127.0.0.1:\(fixture.tlsPort)",
                     "-servername", "app.test", "-alpn", alpn], limit: 30)
                #expect(result.status == 0, "\(alpn): closed by the proxy, not the time limit: \(result.all)")
            }
        }
    }
}

extension RawClient {
    /// Reads and drops whatever comes until the peer closes; false if the read timed out first.
    func drainsToClose() -> Bool {
        while true {
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { return true }
            if count < 0 { return errno == ECONNRESET }
        }
    }
}
