import BatonControl
import BatonDaemon
import BatonOS
import Foundation
import Testing

/// `baton daemon --metrics ADDR:PORT`: Prometheus text over TCP for scrapers.
@Suite(.serialized) struct MetricsEndpointTests {
    @Test func metricsAreServedOverTCPWhenAsked() async throws {
        try await DaemonFixture.with(configure: { $0.metricsListen = ("127.0.0.1", 0) }) { fixture in
            let backend = try EchoBackend()
            defer { backend.stop() }
            let client = fixture.client
            _ = try await client.createApp(AppSpec(name: "m", hosts: ["m.test"], upstream: "127.0.0.1:\(backend.port)"))
            #expect(try await fixture.get("/", host: "m.test").status == 200)
            let port = try #require(fixture.daemon.metricsAddress?.port)
            #expect(fixture.daemon.metricsURL == "http://127.0.0.1:\(port)/metrics")

            let reply = try await offThePool { try RawHTTP.exchange(port: port, "GET /metrics HTTP/1.1\r\nHost: scraper\r\nConnection: close\r\n\r\n") }
            let (status, body) = RawHTTP.parse(reply)
            #expect(status == 200)
            #expect(reply.lowercased().contains("content-type: text/plain; version=0.0.4"))
            #expect(body.contains(#"baton_proxy_requests_total{app="m",status="200"} 1"#))
            #expect(body.contains("# TYPE baton_proxy_request_duration_seconds histogram"))
            // The same registry as the control socket's /metrics.
            #expect(try await client.metrics().contains(#"baton_proxy_requests_total{app="m",status="200"} 1"#))
        }
    }

    @Test func metricsListenerAnswersNothingElse() async throws {
        try await DaemonFixture.with(configure: { $0.metricsListen = ("127.0.0.1", 0) }) { fixture in
            let port = try #require(fixture.daemon.metricsAddress?.port)
            for request in ["GET / HTTP/1.1", "GET /v1/apps HTTP/1.1", "POST /metrics HTTP/1.1", "GET /metricsx HTTP/1.1"] {
                let reply = try await offThePool { try RawHTTP.exchange(port: port, "\(request)\r\nHost: scraper\r\nContent-Length: 0\r\nConnection: close\r\n\r\n") }
                #expect(RawHTTP.parse(reply).status == 404, "\(request)")
            }
            // A scraper's keep-alive connection gets one answer per request, in order.
            let twice = try await offThePool {
                try RawHTTP.exchange(port: port, "GET /metrics HTTP/1.1\r\nHost: s\r\n\r\nGET /nope HTTP/1.1\r\nHost: s\r\nConnection: close\r\n\r\n")
            }
            #expect(twice.hasPrefix("HTTP/1.1 200 OK"))
            #expect(twice.contains("HTTP/1.1 404 Not Found"))
        }
    }

    @Test func metricsAreOffByDefault() async throws {
        try await DaemonFixture.with { fixture in
            #expect(fixture.daemon.metricsAddress == nil)
            #expect(fixture.daemon.metricsURL == nil)
        }
    }

    @Test func metricsAddressInUseFailsStartWithAClearError() async throws {
        try await DaemonFixture.with(configure: { $0.metricsListen = ("127.0.0.1", 0) }) { fixture in
            let taken = try #require(fixture.daemon.metricsAddress?.port)
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("baton-daemon-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: root) }
            var options = Daemon.Options(root: root)
            options.listenPort = 0
            options.accessLog = false
            options.metricsListen = ("127.0.0.1", taken)
            // Every listener is bound when the daemon is made, before anything starts.
            let error = #expect(throws: BatonError.self) { try Daemon(options: options) }
            #expect(error?.message.hasPrefix("cannot serve metrics on 127.0.0.1:\(taken)") == true)
            #expect(!FileManager.default.fileExists(atPath: root + "/baton.sock"))
        }
    }

    /// A fresh daemon declares every family (the apps gauge at 0); an app's zero-valued series
    /// appear with it, and every series of it goes when it is removed.
    @Test func familiesFromTheStartAndARemovedAppsSeriesGo() async throws {
        try await DaemonFixture.with { fixture in
            let client = fixture.client
            let fresh = try await client.metrics()
            #expect(fresh.contains("baton_proxy_apps 0"), "\(fresh)")
            for family in ["baton_proxy_requests_total counter", "baton_proxy_request_duration_seconds histogram",
                           "baton_proxy_in_flight_requests gauge", "baton_proxy_upstream_errors_total counter"] {
                #expect(fresh.contains("# TYPE \(family)\n"), "\(family)")
            }
            let backend = try EchoBackend()
            defer { backend.stop() }
            _ = try await client.createApp(AppSpec(name: "gone", hosts: ["gone.test"], upstream: "127.0.0.1:\(backend.port)"))
            _ = try await client.createApp(AppSpec(name: "kept", hosts: ["kept.test"], upstream: "127.0.0.1:\(backend.port)"))
            let created = try await client.metrics()
            #expect(created.contains("baton_proxy_apps 2"))
            #expect(created.contains(#"baton_proxy_in_flight_requests{app="gone"} 0"#), "\(created)")
            #expect(created.contains(#"baton_proxy_request_duration_seconds_count{app="kept"} 0"#), "\(created)")
            #expect(try await fixture.get("/", host: "gone.test").status == 200)
            #expect(try await client.metrics().contains(#"baton_proxy_requests_total{app="gone",status="200"} 1"#))

            try await client.removeApp(named: "gone")
            let after = try await client.metrics()
            #expect(!after.contains(#"app="gone""#), "\(after)")
            #expect(after.contains(#"baton_proxy_in_flight_requests{app="kept"} 0"#))
            #expect(after.contains("baton_proxy_apps 1"))
            // Made again under the same name, it counts from zero into rendered series.
            _ = try await client.createApp(AppSpec(name: "gone", hosts: ["gone.test"], upstream: "127.0.0.1:\(backend.port)"))
            #expect(try await fixture.get("/", host: "gone.test").status == 200)
            #expect(try await client.metrics().contains(#"baton_proxy_requests_total{app="gone",status="200"} 1"#))
        }
    }
}
