@testable import BatonDeploy
import BatonTestSupport
import Glibc
import Testing

@Suite struct HTTPHealthProbeTests {
    @Test func okAnswerGivesItsStatusAndTheRequestIsAPlainGet() async throws {
        let server = try TinyHTTPServer(reply: .send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
        defer { server.stop() }
        let probe = HTTPHealthProbe.loopback(port: server.port, path: "/up")
        #expect(await probe.check(timeout: .seconds(2)) == .responded(status: 200))
        let request = try #require(server.requests.first)
        #expect(request.hasPrefix("GET /up HTTP/1.1\r\n"))
        #expect(request.contains("\r\nHost: localhost:\(server.port)\r\n"))
        #expect(request.contains("\r\nConnection: close\r\n"))
    }

    @Test func errorStatusIsReportedNotHidden() async throws {
        let server = try TinyHTTPServer(reply: .send("HTTP/1.0 503 Service Unavailable\r\n\r\n"))
        defer { server.stop() }
        let probe = HTTPHealthProbe.loopback(port: server.port, path: "/up")
        #expect(await probe.check(timeout: .seconds(2)) == .responded(status: 503))
    }

    @Test func refusedConnectionIsAFailureNamingTheAddress() async throws {
        let reserved = try ReservedPort()
        let port = reserved.port
        let result = await HTTPHealthProbe.loopback(port: port, path: "/").check(timeout: .seconds(2))
        withExtendedLifetime(reserved) {}
        guard case .failed(let reason) = result else {
            Issue.record("expected a failure, got \(result)")
            return
        }
        #expect(reason.contains("connect 127.0.0.1:\(port)"))
        #expect(reason.contains("refused"))
    }

    @Test func garbageInsteadOfHTTPIsAFailure() async throws {
        let server = try TinyHTTPServer(reply: .send("SSH-2.0-OpenSSH_9.2\r\n"))
        defer { server.stop() }
        let result = await HTTPHealthProbe.loopback(port: server.port, path: "/").check(timeout: .seconds(2))
        #expect(result == .failed(reason: "not an HTTP response: \"SSH-2.0-OpenSSH_9.2\""))
    }

    @Test func endlessLineWithoutNewlineIsAFailure() async throws {
        let server = try TinyHTTPServer(reply: .send(String(repeating: "A", count: 2000)))
        defer { server.stop() }
        let result = await HTTPHealthProbe.loopback(port: server.port, path: "/").check(timeout: .seconds(2))
        guard case .failed(let reason) = result else {
            Issue.record("expected a failure, got \(result)")
            return
        }
        #expect(reason.hasPrefix("not an HTTP response"))
    }

    @Test func closeWithoutAnswerIsAFailure() async throws {
        let server = try TinyHTTPServer(reply: .close)
        defer { server.stop() }
        let result = await HTTPHealthProbe.loopback(port: server.port, path: "/").check(timeout: .seconds(2))
        guard case .failed = result else {
            Issue.record("expected a failure, got \(result)")
            return
        }
    }

    @Test func slowAnswerIsCutOffAtTheAttemptTimeout() async throws {
        let server = try TinyHTTPServer(reply: .sendAfter(.seconds(3), "HTTP/1.1 200 OK\r\n\r\n"))
        defer { server.stop() }
        let started = ContinuousClock.now
        let result = await HTTPHealthProbe.loopback(port: server.port, path: "/").check(timeout: .milliseconds(200))
        let took = ContinuousClock.now - started
        #expect(result == .failed(reason: "no response within the attempt timeout"))
        // The answer comes after 3 s: a failure means the attempt was cut off, not waited out.
        #expect(took >= .milliseconds(190))
    }

    @Test func statusLineParsing() {
        func parse(_ text: String) -> HealthResult { HTTPStatusExchange.parseStatusLine(ArraySlice(text.utf8)) }
        #expect(parse("HTTP/1.1 204 No Content") == .responded(status: 204))
        #expect(parse("HTTP/1.1 200") == .responded(status: 200))
        #expect(parse("HTTP/2 200") == .failed(reason: "not an HTTP response: \"HTTP/2 200\""))
        #expect(parse("HTTP/1.1 20x OK") == .failed(reason: "not an HTTP response: \"HTTP/1.1 20x OK\""))
        #expect(parse("HTTP/1.1 099 Low") == .failed(reason: "not an HTTP response: \"HTTP/1.1 099 Low\""))
    }

    @Test(.enabled(if: geteuid() == 0, "requires root"))
    func socketMadeInsideANetworkNamespaceReachesItsLoopback() async throws {
        // Our own namespace stands in for a sandbox's: the probe still goes through setns.
        let server = try TinyHTTPServer(reply: .send("HTTP/1.1 200 OK\r\n\r\n"))
        defer { server.stop() }
        let probe = HTTPHealthProbe.loopback(port: server.port, path: "/up", in: FakeRuntime.network)
        #expect(await probe.check(timeout: .seconds(2)) == .responded(status: 200))
    }
}
