import BatonOS
@testable import BatonProxy
import Foundation
import Glibc
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// The proxy's side of a daemon hand-off: a listening socket adopted from another process,
/// given up (`stopAccepting`) while the connections already accepted are served, and taken
/// over by a second proxy. The order is the daemon's: the old proxy stops accepting before
/// the new one adopts.
@Suite(.serialized) struct ListenerHandOffTests {
    @Test func handOffsUnderLoadFailNoRequestAndEveryProxyServes() async throws {
        let listener = try TestListener()
        defer { listener.close() }
        // Four generations, each with a backend of its own to count what it served: three
        // hand-offs, each in the daemon's order (stop accepting, the next adopts, shut down).
        var backends: [TestBackend] = []
        for _ in 0..<4 { backends.append(try await TestBackend(recording: false)) }
        var proxies: [AdoptingProxy] = []
        var servedAtShutdown: [Int] = []
        var clients: [LoadClient] = []
        do {
            proxies.append(try await AdoptingProxy(adopting: listener.dup(), backend: backends[0]))
            // Four keep-alive clients and four that ask for Connection: close, all the time.
            clients = (0..<8).map { LoadClient(port: listener.port, keepAlive: $0 % 2 == 0) }
            for next in 1..<4 {
                let backend = backends[next - 1]
                #expect(await eventually(within: .seconds(60)) { backend.log.count >= 200 })
                let old = proxies[next - 1]
                await old.proxy.stopAccepting()
                proxies.append(try await AdoptingProxy(adopting: listener.dup(), backend: backends[next]))
                // Returns once the old proxy's last connection has closed.
                await old.proxy.shutdown(gracePeriod: .seconds(30))
                servedAtShutdown.append(backend.log.count)
                #expect(old.proxy.openConnections == 0)
            }
            let last = backends[3]
            #expect(await eventually(within: .seconds(60)) { last.log.count >= 200 })
        } catch {
            Issue.record(error)
        }
        for client in clients { client.stop() }
        #expect(await eventually(within: .seconds(60)) { clients.allSatisfy(\.finished) })
        let tallies = clients.map(\.tally)
        #expect(tallies.flatMap(\.failures).isEmpty, "\(tallies.flatMap(\.failures))")
        #expect(tallies.map(\.ok).reduce(0, +) == backends.map(\.log.count).reduce(0, +), "every request got its 200")
        #expect(backends.allSatisfy { $0.log.count > 0 })
        #expect(Array(backends.prefix(servedAtShutdown.count).map(\.log.count)) == servedAtShutdown,
                "nothing reaches a proxy after its shutdown")
        // Keep-alive connections to the old proxies ended on a response that said so.
        #expect(tallies.map(\.closesAnnounced).reduce(0, +) > 0)
        for proxy in proxies.reversed() { await proxy.stop() }
        for backend in backends { await backend.stop() }
    }

    @Test func aProxyThatStoppedAcceptingAdoptsTheListenerAgain() async throws {
        let listener = try TestListener()
        defer { listener.close() }
        let backend = try await TestBackend()
        let proxied = try await AdoptingProxy(adopting: listener.dup(), backend: backend)
        do {
            let accepted = try RawClient(port: listener.port)
            try accepted.send("GET /before HTTP/1.1\r\nHost: app.test\r\n\r\n")
            #expect(try accepted.readResponse().status == 200)

            await proxied.proxy.stopAccepting()
            await proxied.proxy.stopAccepting()
            // The socket still listens (the test holds it): a new connection waits in the backlog.
            let queued = try RawClient(port: listener.port)
            try queued.send("GET /queued HTTP/1.1\r\nHost: app.test\r\n\r\n")
            // The connection accepted before is served as before.
            try accepted.send("GET /after-stop HTTP/1.1\r\nHost: app.test\r\n\r\n")
            let after = try accepted.readResponse()
            #expect(after.status == 200 && after.header("connection") != "close")
            #expect(!backend.log.uris.contains("/queued"))

            // The hand-off failed: the same proxy takes the socket back.
            let address = try await proxied.proxy.start(adoptingListener: listener.dup())
            #expect(address.port == listener.port)
            #expect(try queued.readResponse().status == 200)
            let fresh = try RawClient(port: listener.port)
            try fresh.send("GET /fresh HTTP/1.1\r\nHost: app.test\r\n\r\n")
            #expect(try fresh.readResponse().status == 200)
            #expect(backend.log.uris == ["/before", "/after-stop", "/queued", "/fresh"])
        } catch {
            Issue.record(error)
        }
        await proxied.stop()
        await backend.stop()
    }

    @Test func anAdoptedTLSListenerServesHTTPS() async throws {
        try await TLSFixture.with { fixture in
            let listener = try TestListener()
            defer { listener.close() }
            let certificates = try fixture.certificates.serverCertificates(fallback: true)
            let address = try await fixture.proxy.startTLS(adoptingListener: listener.dup(), certificates: certificates)
            #expect(address.port == listener.port)
            let result = try await ClientTool.run(
                ["/usr/bin/curl", "-sS", "--max-time", "20", "--cacert", fixture.certificates.caFile,
                 "--resolve", "app.test:\(listener.port):127.0.0.1", "-w", "\n%{http_code}",
                 "https://app.test:\(listener.port)/adopted"])
            #expect(result.output.hasSuffix("\n200"), "\(result.all)")
            #expect(fixture.backend.log.uris.contains("/adopted"))
        }
    }

    @Test func aDescriptorThatIsNoListeningSocketIsRefused() async throws {
        let backend = try await TestBackend()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let proxy = Proxy(group: group)
        let unbound = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #expect(unbound >= 0)
        // Not listening: refused by name before NIO sees it (and closed: the proxy owned it).
        await #expect(throws: OSError.self) { try await proxy.start(adoptingListener: unbound) }
        await proxy.shutdown(gracePeriod: .milliseconds(100))
        try? await group.shutdownGracefully()
        await backend.stop()
    }
}

/// A TCP socket listening on 127.0.0.1 (a fresh port), as a daemon holds one to hand over:
/// each proxy adopts a copy (`dup`), the test keeps the original until it ends.
final class TestListener: Sendable {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && listen(fd, 1024) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else {
            let code = errno
            Glibc.close(fd)
            throw TestFailure("bind/listen: \(code)")
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// A copy for a proxy to adopt (and close).
    func dup() throws -> Int32 {
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else { throw TestFailure("dup: \(errno)") }
        return copy
    }

    func close() { Glibc.close(fd) }
}

/// A proxy on its own event loop group serving an adopted listener, routing `app.test` to
/// `backend`.
final class AdoptingProxy: Sendable {
    let group: MultiThreadedEventLoopGroup
    let proxy: Proxy

    init(adopting fd: Int32, backend: TestBackend) async throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        proxy = Proxy(group: group)
        proxy.install(RouteTable([("app.test", Route(app: "app", target: .address(host: "127.0.0.1", port: backend.port)))]))
        do {
            _ = try await proxy.start(adoptingListener: fd)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    func stop() async {
        await proxy.shutdown(gracePeriod: .milliseconds(200))
        try? await group.shutdownGracefully()
    }
}

/// A client on a thread of its own sending GET requests one after another until stopped:
/// on one keep-alive connection (a new one once a response says `Connection: close`), or on a
/// new connection for each request. Any failure (an error status, a reset, a connection that
/// ends without its response) is recorded.
final class LoadClient: Sendable {
    struct Tally: Sendable {
        var ok = 0
        var failures: [String] = []
        /// Responses on a keep-alive connection that said `Connection: close`.
        var closesAnnounced = 0
    }

    private let state = Mutex<(tally: Tally, stopping: Bool, finished: Bool)>((Tally(), false, false))

    init(port: Int, keepAlive: Bool) {
        Thread.detachNewThread { [self] in run(port: port, keepAlive: keepAlive) }
    }

    var tally: Tally { state.withLock { $0.tally } }
    var finished: Bool { state.withLock { $0.finished } }
    func stop() { state.withLock { $0.stopping = true } }

    private func run(port: Int, keepAlive: Bool) {
        var client: RawClient?
        var sent = 0
        var onConnection = 0
        // Bounded even if the test never says stop.
        let giveUp = ContinuousClock.now + .seconds(120)
        while !state.withLock({ $0.stopping }), ContinuousClock.now < giveUp {
            sent += 1
            do {
                if client == nil { onConnection = 0 }
                onConnection += 1
                let connection = try client ?? RawClient(port: port, timeout: 30)
                client = connection
                try connection.send("GET /load/\(sent) HTTP/1.1\r\nHost: app.test\r\n" + (keepAlive ? "" : "Connection: close\r\n") + "\r\n")
                let response = try connection.readResponse()
                let closes = response.header("connection")?.lowercased() == "close"
                state.withLock { state in
                    if response.status == 200 {
                        state.tally.ok += 1
                    } else {
                        state.tally.failures.append("status \(response.status)")
                    }
                    if keepAlive && closes { state.tally.closesAnnounced += 1 }
                }
                if !keepAlive || closes { client = nil }
            } catch {
                let code = errno
                state.withLock { $0.tally.failures.append("request \(sent) (\(onConnection) on its connection, keep-alive \(keepAlive)): \(error) (errno \(code))") }
                client = nil
            }
        }
        state.withLock { $0.finished = true }
    }
}
