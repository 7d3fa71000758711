@testable import BatonDeploy
import BatonOS
import Testing

/// The smoke gate in the swap, over the coordinator's fakes, with green's "app" a real HTTP
/// server on 127.0.0.1 (the fake runtime's sandboxes share the test's network namespace).
@Suite struct SmokeGateTests {
    typealias F = DeployFixture

    static func settings(port: Int, _ checks: [String], timeout: Duration = .seconds(10)) throws -> DeploySettings {
        var settings = F.settings()
        settings.port = port
        settings.smoke = SmokeGate(checks: try SmokeCheck.parseAll(checks), host: "web.example.com", checkTimeout: timeout)
        return settings
    }

    @Test func passingChecksAreRecordedBetweenHealthyAndTheFlipWithTheAppsHostAndForwardingHeaders() async throws {
        let server = try TinyHTTPServer(reply: .send("HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{\"items\": [1]}\n"))
        defer { server.stop() }
        let fixture = DeployFixture()
        fixture.serve("web", F.v1)
        let settings = try Self.settings(port: server.port, ["GET /healthz 200", #"POST /api/echo 200 contains "items" body {"a":1}"#])
        let record = try await fixture.coordinator.deploy(app: "web", to: F.v2, settings: settings)
        #expect(record.outcome == .succeeded)
        #expect(record.phases.map(\.phase) == [.started, .healthy, .smoked, .routed, .drained, .stopped])
        #expect(record.phases[2].detail == "2 checks passed")
        let requests = server.requests
        #expect(requests.count == 2)
        #expect(requests.first?.hasPrefix("GET /healthz HTTP/1.1\r\nHost: web.example.com\r\n") == true, "\(requests)")
        let post = requests.last ?? ""
        #expect(post.hasPrefix("POST /api/echo HTTP/1.1\r\n"))
        for header in ["X-Forwarded-For: 127.0.0.1", "X-Forwarded-Proto: http", "X-Forwarded-Host: web.example.com",
                       "X-Real-IP: 127.0.0.1", "Forwarded: for=127.0.0.1;proto=http;host=web.example.com",
                       "Content-Type: application/json", "Content-Length: 7"] {
            #expect(post.contains(header + "\r\n"), "\(header) in \(post)")
        }
    }

    @Test func aFailingCheckAbandonsTheSwapLikeAFailedHealthCheck() async throws {
        let server = try TinyHTTPServer(reply: .send("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 16\r\n\r\ndatabase is down"))
        defer { server.stop() }
        let fixture = DeployFixture()
        let blue = fixture.serve("web", F.v1)
        let settings = try Self.settings(port: server.port, ["GET /api/items 200"])
        let error = await batonError { _ = try await fixture.coordinator.deploy(app: "web", to: F.v2, settings: settings) }
        let failure = try #require(error?.deployFailure)
        #expect(error?.code == .setupFailed)
        #expect(error?.message == "deploy of web to sha256:222222222222 failed: sb-1 smoke check 1 of 1 'GET /api/items 200' failed:"
            + " answered 500, expected 200; body \"database is down\"; web still serves sha256:111111111111")
        #expect(failure.logLines == fixture.runtime.logLines)
        #expect(fixture.routes.current("web") == blue)
        #expect(fixture.runtime.running == ["blue"])
        #expect(fixture.runtime.stopped == ["sb-1"])
        #expect(!fixture.log.all.contains { $0.hasPrefix("route") || $0.hasPrefix("drain") })
        let stored = try #require(fixture.recorder.all.first)
        #expect(stored.outcome == .failed)
        #expect(stored.reason?.contains("answered 500, expected 200") == true)
        #expect(stored.phases.map(\.phase) == [.started, .healthy])
    }

    @Test func aMissingTextFailsAndTheChecksStopAtTheFirstFailure() async throws {
        let server = try TinyHTTPServer(reply: .send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nnone\r\n5\r\n here\r\n0\r\n\r\n"))
        defer { server.stop() }
        let fixture = DeployFixture()
        fixture.serve("web", F.v1)
        let settings = try Self.settings(port: server.port, [#"GET /a 200 contains "none here""#, #"GET /b 200 contains "items""#, "GET /c 200"])
        let error = await batonError { _ = try await fixture.coordinator.deploy(app: "web", to: F.v2, settings: settings) }
        #expect(error?.message.contains(#"smoke check 2 of 3 'GET /b 200 contains "items"' failed: answered 200 but its body lacks "items"; body "none here""#) == true,
                "\(error?.message ?? "")")
        #expect(server.requests.count == 2)
    }

    @Test func anArtifactsAnswerIsBoundedAndEscapedInTheError() async throws {
        // A body far past what is read, and bytes that would drive a terminal.
        let big = String(repeating: "x", count: 300_000)
        let server = try TinyHTTPServer(reply: .send("HTTP/1.1 503 \u{1b}[2J\r\nContent-Length: 300011\r\n\r\n\u{1b}]0;owned\u{07}\"\\" + big))
        defer { server.stop() }
        let fixture = DeployFixture()
        fixture.serve("web", F.v1)
        let error = await batonError {
            _ = try await fixture.coordinator.deploy(app: "web", to: F.v2, settings: try Self.settings(port: server.port, ["GET / 200"]))
        }
        let message = try #require(error?.message)
        #expect(message.contains(#"answered 503, expected 200; body "\x1b]0;owned\x07\"\\xxxx"#), "\(message)")
        #expect(!message.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f })
        #expect(message.utf8.count < 1000)
    }

    @Test func noAnswerWithinTheCheckTimeoutAndNotHTTPAreFailures() async throws {
        let silent = try TinyHTTPServer(reply: .sendAfter(.seconds(30), "HTTP/1.1 200 OK\r\n\r\n"))
        defer { silent.stop() }
        let fixture = DeployFixture()
        fixture.serve("web", F.v1)
        let quick = try Self.settings(port: silent.port, ["GET / 200"], timeout: .milliseconds(300))
        let error = await batonError { _ = try await fixture.coordinator.deploy(app: "web", to: F.v2, settings: quick) }
        #expect(error?.message.contains("no complete response within the check's timeout") == true, "\(error?.message ?? "")")

        let garbage = try TinyHTTPServer(reply: .send("SSH-2.0-OpenSSH\r\n\r\n"))
        defer { garbage.stop() }
        let error2 = await batonError {
            _ = try await fixture.coordinator.deploy(app: "web", to: F.v2, settings: try Self.settings(port: garbage.port, ["GET / 200"]))
        }
        #expect(error2?.message.contains(#"not an HTTP response: "SSH-2.0-OpenSSH""#) == true, "\(error2?.message ?? "")")
        #expect(fixture.routes.current("web")?.id == "blue")
    }

    @Test func anAppWithOnlyWildcardHostsIsCheckedUnderANameTheyMatch() {
        #expect(SmokeGate.host(for: ["*.preview.example.com", "app.example.com"]) == "app.example.com")
        #expect(SmokeGate.host(for: ["*.preview.example.com"]) == "smoke.preview.example.com")
    }
}
