import BatonProxy
import Testing

/// Request targets other than a plain path (RFC 9112 §3.2): an absolute URI must never take a
/// request to another app than its Host names, upstreams only ever see origin-form, and the
/// proxy is no CONNECT tunnel.
@Suite(.serialized) struct RequestTargetTests {
    /// The fixture plus a second app, `other.test`, on a backend of its own.
    func withTwoApps(_ body: (ProxyFixture, TestBackend) async throws -> Void) async throws {
        try await ProxyFixture.with { fixture in
            let other = try await TestBackend()
            do {
                fixture.proxy.install(RouteTable([
                    ("app.test", Route(app: "app", target: fixture.backendTarget)),
                    ("other.test", Route(app: "other", target: .address(host: "127.0.0.1", port: other.port))),
                ]))
                try await body(fixture, other)
            } catch {
                await other.stop()
                throw error
            }
            await other.stop()
        }
    }

    @Test func anAbsoluteTargetNamingAnotherAppThanHostReachesNoUpstream() async throws {
        try await withTwoApps { fixture, other in
            for (target, host) in [("http://other.test/secret", "app.test"), ("http://app.test/secret", "other.test"),
                                   ("http://app.test:8080/secret", "app.test"), ("http://evil@app.test/secret", "app.test")] {
                let client = try fixture.client()
                try client.send("GET \(target) HTTP/1.1\r\nHost: \(host)\r\n\r\n")
                #expect(try client.readResponse().status == 400, "\(target) with Host \(host)")
                #expect(client.isClosed())
            }
            #expect(fixture.backend.log.requests.isEmpty)
            #expect(other.log.requests.isEmpty)
        }
    }

    @Test func anAbsoluteTargetMatchingHostGoesUpstreamInOriginForm() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            try client.send("GET http://APP.test:80/a?b=1 HTTP/1.1\r\nHost: app.test\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            try client.send("GET http://app.test?q HTTP/1.1\r\nHost: app.test:80\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            try client.send("OPTIONS http://app.test HTTP/1.1\r\nHost: app.test\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            #expect(fixture.backend.log.uris == ["/a?b=1", "/?q", "*"])
        }
    }

    @Test func asteriskFormIsForwardedForOptionsAndRefusedOtherwise() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            try client.send("OPTIONS * HTTP/1.1\r\nHost: app.test\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            #expect(fixture.backend.log.requests.map { "\($0.method) \($0.uri)" } == ["OPTIONS *"])
            try client.send("GET * HTTP/1.1\r\nHost: app.test\r\n\r\n")
            #expect(try client.readResponse().status == 400)
            #expect(client.isClosed())
            #expect(fixture.backend.log.requests.count == 1)
        }
    }

    @Test func connectIsRefusedWith405AndAllow() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            try client.send("CONNECT app.test:443 HTTP/1.1\r\nHost: app.test:443\r\n\r\nGET /tunnelled HTTP/1.1\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 405)
            #expect(response.header("allow")?.contains("GET") == true)
            #expect(response.header("allow")?.contains("CONNECT") == false)
            #expect(client.isClosed())
            #expect(fixture.backend.log.requests.isEmpty)
        }
    }

    @Test func anAuthorityOrRelativeTargetIsRefused() async throws {
        try await ProxyFixture.with { fixture in
            for target in ["app.test:80", "relative/path", "ftp://app.test/x"] {
                let client = try fixture.client()
                try client.send("GET \(target) HTTP/1.1\r\nHost: app.test\r\n\r\n")
                #expect(try client.readResponse().status == 400, "\(target)")
            }
            #expect(fixture.backend.log.requests.isEmpty)
        }
    }
}
