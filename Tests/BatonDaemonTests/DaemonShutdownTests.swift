import BatonControl
import BatonDaemon
import Foundation
import Glibc
import Synchronization
import Testing

/// Stopping a daemon while clients are connected to every server it runs: the proxy, the
/// control socket and the metrics port. Run with SWIFTNIO_STRICT=1 (scripts/test does), where
/// work scheduled on an event loop that has shut down is a crash instead of a warning.
@Suite(.serialized) struct DaemonShutdownTests {
    @Test func stoppingWhileEveryServerHasClientsSchedulesNothingOnAStoppedLoop() async throws {
        let backend = try EchoBackend()
        defer { backend.stop() }
        // Accepts connections (the kernel does) and never answers: requests stay in flight.
        let silent = try SilentListener()
        defer { silent.stop() }
        for _ in 0..<10 {
            let fixture = try await DaemonFixture(configure: {
                $0.metricsListen = ("127.0.0.1", 0)
                $0.shutdownGrace = .milliseconds(50)
            })
            _ = try await fixture.client.createApp(AppSpec(name: "web", hosts: ["web.test"], upstream: "127.0.0.1:\(backend.port)"))
            _ = try await fixture.client.createApp(AppSpec(name: "stuck", hosts: ["stuck.test"], upstream: "127.0.0.1:\(silent.port)"))
            let metricsPort = try #require(fixture.daemon.metricsAddress?.port)
            let clients = ClientSwarm()
            let control = ClientSwarm.Endpoint.unix(fixture.root + "/baton.sock")
            // Requests still in flight when the grace period ends are closed by the daemon.
            for _ in 0..<16 {
                clients.send(.tcp(fixture.port), request: "GET / HTTP/1.1\r\nHost: stuck.test\r\n\r\n")
            }
            for _ in 0..<4 {
                clients.start(.tcp(fixture.port), request: "GET / HTTP/1.1\r\nHost: web.test\r\n\r\n")
                clients.send(.tcp(fixture.port), request: nil)
            }
            for _ in 0..<2 {
                clients.start(.tcp(metricsPort), request: "GET /metrics HTTP/1.1\r\nHost: scraper\r\n\r\n")
                clients.send(.tcp(metricsPort), request: nil)
                clients.start(control, request: "GET /v1/apps HTTP/1.1\r\nHost: baton\r\n\r\n")
                clients.send(control, request: nil)
            }
            try await offThePool { try clients.waitUntilEveryClientIsUnderWay(within: 60) }
            await fixture.stop()
            clients.finish()
        }
    }
}

/// Client threads on raw sockets: some send keep-alive requests back to back (reconnecting
/// when the server closes), some send one request or none and wait. `finish()` ends them all.
final class ClientSwarm: Sendable {
    enum Endpoint: Sendable {
        case tcp(Int)
        case unix(String)
    }

    private let stopped = Atomic(false)
    private let running = Atomic(0)
    private let settling = Atomic(0)

    /// A client that keeps sending `request` on one connection, reconnecting when it closes.
    func start(_ endpoint: Endpoint, request: String) {
        running.add(1, ordering: .relaxed)
        settling.add(1, ordering: .relaxed)
        Thread { [self] in
            var answered = false
            while !stopped.load(ordering: .relaxed) {
                guard let fd = Self.connect(endpoint) else { continue }
                let bytes = Array(request.utf8)
                var buffer = [UInt8](repeating: 0, count: 65536)
                while !stopped.load(ordering: .relaxed) {
                    guard Glibc.send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else { break }
                    // However long the answer takes on a loaded machine; the timeout only lets
                    // the thread notice `finish()`.
                    var received = recv(fd, &buffer, buffer.count, 0)
                    while received < 0, errno == EAGAIN || errno == EINTR, !stopped.load(ordering: .relaxed) {
                        received = recv(fd, &buffer, buffer.count, 0)
                    }
                    guard received > 0 else { break }
                    if !answered {
                        answered = true
                        settling.subtract(1, ordering: .relaxed)
                    }
                }
                close(fd)
            }
            running.subtract(1, ordering: .relaxed)
        }.start()
    }

    /// A client that sends `request` once (nothing when nil) and waits for the server to
    /// answer or close, or for `finish()`.
    func send(_ endpoint: Endpoint, request: String?) {
        running.add(1, ordering: .relaxed)
        settling.add(1, ordering: .relaxed)
        Thread { [self] in
            if let fd = Self.connect(endpoint) {
                if let request {
                    let bytes = Array(request.utf8)
                    _ = Glibc.send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL))
                }
                settling.subtract(1, ordering: .relaxed)
                var byte: UInt8 = 0
                while !stopped.load(ordering: .relaxed), recv(fd, &byte, 1, 0) < 0, errno == EAGAIN || errno == EINTR {}
                close(fd)
            }
            running.subtract(1, ordering: .relaxed)
        }.start()
    }

    /// Waits until every client has been answered once, sent its request or connected.
    func waitUntilEveryClientIsUnderWay(within seconds: Double) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while settling.load(ordering: .relaxed) > 0 {
            guard Date() < deadline else { throw DaemonProcessError("not every client was under way within \(seconds) s") }
            usleep(5_000)
        }
    }

    /// Stops every client and waits until each thread has closed its socket.
    func finish() {
        stopped.store(true, ordering: .relaxed)
        while running.load(ordering: .relaxed) > 0 { usleep(5_000) }
    }

    /// A connected blocking socket whose reads time out after 100 ms (so a client notices
    /// `finish()`), or nil.
    static func connect(_ endpoint: Endpoint) -> Int32? {
        let fd: Int32
        let connected: Int32
        switch endpoint {
        case .tcp(let port):
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
            connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .unix(let path):
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
            }
            connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        }
        guard connected == 0 else {
            close(fd)
            usleep(1_000)
            return nil
        }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }
}

/// A TCP listener on 127.0.0.1 that never accepts: connections complete in the kernel's
/// backlog and requests sent on them are never answered.
final class SilentListener: Sendable {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && listen(fd, 128) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else {
            close(fd)
            throw DaemonProcessError("cannot listen on 127.0.0.1: errno \(errno)")
        }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func stop() { close(fd) }
}
