import BatonOS
import BatonProxy
import Testing

@Suite(.serialized) struct RoutingTests {
    @Test func routesByExactHostIgnoringPortAndCase() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            try client.send("GET /a HTTP/1.1\r\nHost: APP.test:8080\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.text == "hello /a")
            #expect(fixture.backend.log.uris == ["/a"])
        }
    }

    @Test func wildcardMatchesSubdomainsButNotTheBareSuffix() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            try client.send("GET /w HTTP/1.1\r\nHost: pr-42.wild.test\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            try client.send("GET /w2 HTTP/1.1\r\nHost: a.b.wild.test\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            try client.send("GET /bare HTTP/1.1\r\nHost: wild.test\r\n\r\n")
            #expect(try client.readResponse().status == 404)
            #expect(fixture.backend.log.uris == ["/w", "/w2"])
        }
    }

    @Test func unknownHostIs404WithRequestIdAndKeepsConnection() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            try client.send("GET / HTTP/1.1\r\nHost: nobody.test\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 404)
            let id = try #require(response.header("x-request-id"))
            #expect(response.text.contains(id))
            try client.send("GET /after HTTP/1.1\r\nHost: app.test\r\n\r\n")
            #expect(try client.readResponse().status == 200)
        }
    }

    @Test func appWithoutTargetIs503AndRefusedUpstreamIs502() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            try client.send("GET / HTTP/1.1\r\nHost: empty.test\r\n\r\n")
            #expect(try client.readResponse().status == 503)
            try client.send("GET / HTTP/1.1\r\nHost: refused.test\r\n\r\n")
            #expect(try client.readResponse().status == 502)
        }
    }

    @Test func keepAliveConnectionFollowsRouteChangeOnNextRequest() async throws {
        try await ProxyFixture.with { fixture in
            let green = try await TestBackend()
            defer { Task { await green.stop() } }
            let client = try fixture.client()
            try client.send("GET /one HTTP/1.1\r\nHost: app.test\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            fixture.proxy.install(RouteTable([("app.test", Route(app: "app", target: .address(host: "127.0.0.1", port: green.port)))]))
            try client.send("GET /two HTTP/1.1\r\nHost: app.test\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            #expect(fixture.backend.log.uris == ["/one"])
            #expect(green.log.uris == ["/two"])
        }
    }

    @Test func routeTableLookupPrefersExactThenLongestWildcard() {
        let a = Target.address(host: "127.0.0.1", port: 1)
        let b = Target.address(host: "127.0.0.1", port: 2)
        let table = RouteTable([
            ("*.example.com", Route(app: "wide", target: a)),
            ("*.api.example.com", Route(app: "narrow", target: b)),
            ("exact.api.example.com", Route(app: "exact", target: nil)),
        ])
        #expect(table.route(forHost: "x.example.com")?.app == "wide")
        #expect(table.route(forHost: "x.api.example.com")?.app == "narrow")
        #expect(table.route(forHost: "exact.api.example.com")?.app == "exact")
        #expect(table.route(forHost: "example.com") == nil)
        #expect(HostName.normalize("Example.COM.:80") == "example.com")
        #expect(HostName.normalize("[::1]:8080") == "[::1]")
        #expect(HostName.normalize("bad host") == nil)
        #expect(HostName.normalize("a:99999x") == nil)
    }
}
