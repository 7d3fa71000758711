@testable import BatonDeploy
import BatonTestSupport
import Glibc
import Testing

/// The health check of an h2c app (`--upstream-protocol h2c`): HTTP/2 with prior knowledge,
/// judged by the `:status` of the response HEADERS, however the app encodes it.
@Suite struct H2CHealthProbeTests {
    @Test(.enabled(if: PythonFixture.available(module: "h2"), "requires python3-h2"))
    func anH2CServerAnswersTheCheck() async throws {
        let server = try PythonFixture(script: "h2c_server.py", arguments: { [$0 + "/stats.json"] })
        defer { server.stop() }
        let ok = HTTPHealthProbe.loopback(port: server.port, path: "/health", h2c: true)
        #expect(await ok.check(timeout: .seconds(5)) == .responded(status: 200))
        for status in [204, 404, 503, 299] {
            let probe = HTTPHealthProbe.loopback(port: server.port, path: "/status/\(status)", h2c: true)
            #expect(await probe.check(timeout: .seconds(5)) == .responded(status: status))
        }
        // The same server asked over HTTP/1.1 gives no status.
        guard case .failed = await HTTPHealthProbe.loopback(port: server.port, path: "/health").check(timeout: .seconds(2)) else {
            Issue.record("an h2c-only server answered HTTP/1.1")
            return
        }
    }

    @Test func anHTTP11AnswerIsAFailureThatSaysSo() async throws {
        let server = try TinyHTTPServer(reply: .send("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
        defer { server.stop() }
        let result = await HTTPHealthProbe.loopback(port: server.port, path: "/", h2c: true).check(timeout: .seconds(2))
        #expect(result == .failed(reason: "the app answered HTTP/1.x, not HTTP/2: is --upstream-protocol h2c right?"))
    }

    /// An app that answers the check with a frame announcing a megabyte, or with endless
    /// frames that never carry the status: the check fails without reading them.
    @Test func oversizedOrEndlessFramesFailTheCheck() async throws {
        let huge = try TinyHTTPServer(reply: .send("\u{10}\u{0}\u{0}\u{4}\u{0}\u{0}\u{0}\u{0}\u{0}"))
        defer { huge.stop() }
        let refused = await HTTPHealthProbe.loopback(port: huge.port, path: "/", h2c: true).check(timeout: .seconds(2))
        #expect(refused == .failed(reason: "HTTP/2 frame of 1048576 bytes before the response"))
        // PING frames (8 bytes each) for 100 KiB: past what a check reads.
        let ping = "\u{0}\u{0}\u{8}\u{6}\u{0}\u{0}\u{0}\u{0}\u{0}" + String(repeating: "\u{0}", count: 8)
        let endless = try TinyHTTPServer(reply: .send(String(repeating: ping, count: 6000)))
        defer { endless.stop() }
        let result = await HTTPHealthProbe.loopback(port: endless.port, path: "/", h2c: true).check(timeout: .seconds(2))
        #expect(result == .failed(reason: "no HTTP/2 response within 65536 bytes"))
    }

    @Test func theRequestIsThePrefaceSettingsAndOneGet() {
        let request = H2CStatusExchange.request(path: "/up", host: "localhost:8000")
        #expect(request.starts(with: Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)))
        let settings = Array(request[24..<33])
        #expect(settings == [0, 0, 0, 4, 0, 0, 0, 0, 0], "an empty SETTINGS frame")
        let headers = Array(request[33..<42])
        #expect(headers[3] == 1 && headers[4] == 5 && headers[8] == 1, "HEADERS, END_STREAM|END_HEADERS, stream 1")
        #expect(Int(headers[2]) == request.count - 42)
        #expect(Array(request[42..<44]) == [0x82, 0x86], ":method GET, :scheme http")
        #expect(Array(request[44..<49]) == [0x04, 3] + Array("/up".utf8))
    }

    /// RFC 7541's examples (C.6.1, C.6.2) and the static table: Huffman-coded and indexed
    /// statuses read alike; anything that is not a status first is refused.
    @Test func statusesInEveryHPACKForm() {
        func status(_ block: [UInt8], flags: UInt8 = 0x4) -> HealthResult { H2CStatusExchange.status(inHeaders: block, flags: flags) }
        #expect(status([0x88]) == .responded(status: 200))
        #expect(status([0x8d]) == .responded(status: 404))
        #expect(status([0x48, 0x82, 0x64, 0x02]) == .responded(status: 302))
        #expect(status([0x48, 0x83, 0x64, 0x0e, 0xff]) == .responded(status: 307))
        #expect(status([0x08, 0x03] + Array("418".utf8)) == .responded(status: 418))
        #expect(status([0x3f, 0xe1, 0x1f, 0x88]) == .responded(status: 200), "after a table size update")
        // Padded (one byte of padding length, two of padding) and with a priority section.
        #expect(status([2, 0x88, 0, 0], flags: 0x8 | 0x4) == .responded(status: 200))
        #expect(status([0, 0, 0, 0, 16, 0x89], flags: 0x20 | 0x4) == .responded(status: 204))
        for bad: [UInt8] in [[0x82], [0x41, 0x03] + Array("x.y".utf8), [0x48, 0x82, 0xff, 0xff], [0x08, 0x03] + Array("2x0".utf8), []] {
            #expect(status(bad) == .failed(reason: "HTTP/2 response without a :status first"), "\(bad)")
        }
    }

    @Test func hpackIntegersUseTheirPrefix() {
        #expect(H2CStatusExchange.integer(10, prefixBits: 5, first: 0) == [10])
        #expect(H2CStatusExchange.integer(1337, prefixBits: 5, first: 0) == [31, 154, 10], "RFC 7541 C.1.2")
        #expect(H2CStatusExchange.integer(58, prefixBits: 4, first: 0) == [0x0f, 43])
    }
}
