import BatonProxy
import NIOCore
import NIOPosix
import Testing

/// An app of several replicas (`--replicas N`): requests go round-robin, and a replica whose
/// connect fails costs no request while another replica accepts (passive ejection).
@Suite(.serialized) struct ReplicaRoutingTests {
    @Test func requestsGoRoundRobinAcrossTheReplicas() async throws {
        try await ProxyFixture.with { fixture in
            let second = try await TestBackend()
            let replicas: [Target] = [fixture.backendTarget, .address(host: "127.0.0.1", port: second.port)]
            fixture.proxy.install(RouteTable([("app.test", Route(app: "app", target: nil, replicas: replicas))]))
            var statuses: [Int] = []
            do {
                let client = try fixture.client()
                for index in 0..<10 {
                    try client.send("GET /r\(index) HTTP/1.1\r\nHost: app.test\r\n\r\n")
                    statuses.append(try client.readResponse().status)
                }
            } catch {
                await second.stop()
                throw error
            }
            await second.stop()
            #expect(statuses == Array(repeating: 200, count: 10), "\(statuses)")
            #expect(fixture.backend.log.requests.count == 5, "\(fixture.backend.log.uris)")
            #expect(second.log.requests.count == 5, "\(second.log.uris)")
        }
    }

    @Test func aReplicaThatRefusesConnectionsCostsNoRequest() async throws {
        try await ProxyFixture.with { fixture in
            // Port 1 on 127.0.0.1 refuses: a replica whose sandbox has just died.
            let replicas: [Target] = [.address(host: "127.0.0.1", port: 1), fixture.backendTarget]
            fixture.proxy.install(RouteTable([("app.test", Route(app: "app", target: nil, replicas: replicas))]))
            var statuses: [Int] = []
            for index in 0..<20 {
                // A fresh connection each time, so no pooled connection hides the choice.
                let client = try fixture.client()
                try client.send("GET /e\(index) HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")
                statuses.append(try client.readResponse().status)
            }
            #expect(statuses == Array(repeating: 200, count: 20), "\(statuses)")
            #expect(fixture.backend.log.requests.count == 20)
        }
    }

    @Test func aGetThatAReplicaDropsUnansweredGoesToAnotherButABodyIsNeverSentTwice() async throws {
        try await ProxyFixture.with { fixture in
            // A replica that takes each request and closes without a byte: one dying with it.
            let dropper = try await ServerBootstrap(group: fixture.group)
                .childChannelInitializer { $0.pipeline.addHandler(CloseOnRead()) }
                .bind(host: "127.0.0.1", port: 0).get()
            let replicas: [Target] = [.address(host: "127.0.0.1", port: dropper.localAddress!.port!), fixture.backendTarget]
            fixture.proxy.install(RouteTable([("app.test", Route(app: "app", target: nil, replicas: replicas))]))
            var gets: [Int] = []
            var posts: [Int] = []
            do {
                for index in 0..<6 {
                    let client = try fixture.client()
                    try client.send("GET /g\(index) HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")
                    gets.append(try client.readResponse().status)
                }
                for index in 0..<2 {
                    let client = try fixture.client()
                    try client.send("POST /p\(index) HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
                    posts.append(try client.readResponse().status)
                }
            } catch {
                try? await dropper.close()
                throw error
            }
            try? await dropper.close()
            #expect(gets == Array(repeating: 200, count: 6), "\(gets)")
            // Round-robin: one of the two POSTs went to the dropper, which may have run it.
            #expect(posts.sorted() == [200, 502], "\(posts)")
            #expect(fixture.backend.log.uris.filter { $0.hasPrefix("/p") }.count == 1)
        }
    }

    @Test func whenEveryReplicaRefusesTheRequestIsAnswered502() async throws {
        try await ProxyFixture.with { fixture in
            let replicas: [Target] = [.address(host: "127.0.0.1", port: 1), .address(host: "127.0.0.2", port: 1)]
            fixture.proxy.install(RouteTable([("app.test", Route(app: "app", target: nil, replicas: replicas))]))
            let client = try fixture.client()
            try client.send("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n")
            #expect(try client.readResponse().status == 502)
        }
    }

    @Test func aRouteOfOneReplicaIsAPlainTarget() {
        let route = Route(app: "app", target: nil, replicas: [.address(host: "127.0.0.1", port: 8000)])
        #expect(route.target == .address(host: "127.0.0.1", port: 8000))
        #expect(route.replicas.isEmpty)
        #expect(RouteTable([("a.test", route)]).targets == [.address(host: "127.0.0.1", port: 8000)])
    }
}

/// Closes each connection as soon as a request's first bytes arrive.
private final class CloseOnRead: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.close(promise: nil)
    }
}
