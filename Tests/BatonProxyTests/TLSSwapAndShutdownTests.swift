import BatonProxy
import Foundation
import Testing

/// The swap guarantees over TLS and HTTP/2: route changes under load fail no request, a drain
/// waits for streams in flight, and a shutdown sends HTTP/2 clients a GOAWAY while their open
/// streams finish, and closes idle HTTP/1.1 connections that send nothing more at the end of
/// its grace period.
@Suite(.serialized) struct TLSSwapAndShutdownTests {
    static func table(_ target: Target) -> RouteTable {
        RouteTable([("app.test", Route(app: "app", target: target))])
    }

    @Test func swapsUnderTLSLoadOverHTTP11AndHTTP2FailNoRequest() async throws {
        try await TLSFixture.with { fixture in
            let green = try await TestBackend(recording: false)
            let blue = fixture.plain.backendTarget
            let greenTarget = Target.address(host: "127.0.0.1", port: green.port)
            let url = "https://app.test:\(fixture.tlsPort)/swap"
            let connect = "--connect-to=127.0.0.1:\(fixture.tlsPort)"
            // Keep-alive HTTP/1.1 over TLS on 8 connections, and HTTP/2 with 20 streams in
            // flight on each of 2 connections, while the route flips between two backends.
            let http1 = try ClientTool(["/usr/bin/h2load", "--h1", "-n", "4000", "-c", "8", connect, url], limit: 120)
            let http2 = try ClientTool(["/usr/bin/h2load", "-n", "8000", "-c", "2", "-m", "20", connect, url], limit: 120)
            var swaps = 0
            while http1.isRunning || http2.isRunning {
                let (old, new) = swaps % 2 == 0 ? (blue, greenTarget) : (greenTarget, blue)
                fixture.proxy.install(Self.table(new))
                await fixture.proxy.drain(target: old, deadline: .now + .seconds(10))
                swaps += 1
                try await Task.sleep(for: .milliseconds(20))
            }
            let results = [try await http1.finish(), try await http2.finish()]
            await green.stop()
            #expect(results[0].output.contains("4000 succeeded, 0 failed, 0 errored"), "\(results[0].all)")
            #expect(results[0].output.contains("status codes: 4000 2xx"), "\(results[0].all)")
            #expect(results[1].output.contains("8000 succeeded, 0 failed, 0 errored"), "\(results[1].all)")
            #expect(results[1].output.contains("status codes: 8000 2xx"), "\(results[1].all)")
            #expect(swaps >= 2)
            #expect(fixture.backend.log.count > 0 && green.log.count > 0, "both backends served: the swaps moved traffic")
            #expect(fixture.backend.log.count + green.log.count == 12000)
        }
    }

    @Test func aDrainWaitsForAnHTTP2StreamInFlight() async throws {
        try await TLSFixture.with { fixture in
            let client = try ClientTool(
                ["/usr/bin/nghttp", "-y", "--timeout=30", "https://127.0.0.1:\(fixture.tlsPort)/slow/3000",
                 "-H", ":authority: app.test"])
            #expect(await eventually { fixture.proxy.inFlight(target: fixture.plain.backendTarget) == 1 })
            let drained = await fixture.proxy.drain(target: fixture.plain.backendTarget, deadline: .now + .seconds(20))
            #expect(drained)
            let result = try await client.finish()
            #expect(result.status == 0, "\(result.all)")
            #expect(result.output.contains("slow done"), "\(result.all)")
        }
    }

    @Test func shutdownSendsGoAwayLetsTheOpenStreamFinishAndClosesIdleHTTP11ConnectionsAtTheGracesEnd() async throws {
        try await TLSFixture.with { fixture in
            // An HTTP/1.1 keep-alive connection over TLS, idle after one request (s_client
            // waits for the server to close it).
            let idle = try ClientTool(
                ["/usr/bin/openssl", "s_client", "-quiet", "-connect", "127.0.0.1:\(fixture.tlsPort)",
                 "-servername", "app.test", "-alpn", "http/1.1"],
                input: "GET /idle HTTP/1.1\r\nHost: app.test\r\n\r\n", limit: 90)
            #expect(await eventually { fixture.backend.log.uris.contains("/idle") })
            // An HTTP/2 stream in flight.
            let streaming = try ClientTool(
                ["/usr/bin/nghttp", "-v", "-y", "--timeout=60", "https://127.0.0.1:\(fixture.tlsPort)/slow/2000",
                 "-H", ":authority: app.test"], limit: 90)
            #expect(await eventually { fixture.proxy.inFlight(target: fixture.plain.backendTarget) == 1 })

            // The idle HTTP/1.1 connection (it sends no next request) stays open to the end of
            // the grace period, far longer than the stream takes.
            await fixture.proxy.shutdown(gracePeriod: .seconds(15))

            let stream = try await streaming.finish()
            #expect(stream.status == 0, "\(stream.all)")
            #expect(stream.output.contains("recv GOAWAY frame"), "\(stream.all)")
            #expect(stream.output.contains("slow done"), "the open stream finished: \(stream.all)")
            let http1 = try await idle.finish()
            #expect(http1.status == 0, "closed by the proxy, not by the time limit: \(http1.all)")
            #expect(http1.output.contains("hello /idle"), "\(http1.all)")
            // Nothing is accepted any more.
            let after = try await fixture.curl("app.test", "/after")
            #expect(after.status != 0)
        }
    }
}
