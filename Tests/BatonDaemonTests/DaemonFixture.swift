import BatonControl
import BatonDaemon
import BatonOS
import BatonProxy
import Foundation
import Glibc

/// A daemon on 127.0.0.1 (free port) with its own temporary root, and helpers to reach it.
final class DaemonFixture: @unchecked Sendable {
    // Set up once in init; tests only read.
    let root: String
    var daemon: Daemon
    var port: Int

    init(root: String? = nil, configure: (inout Daemon.Options) -> Void = { _ in }) async throws {
        self.root = root ?? FileManager.default.temporaryDirectory.appendingPathComponent("baton-daemon-\(UUID().uuidString)").path
        // The daemon runs in this process and dies with it; its sandboxes are reaped then.
        TestProcessLifetime.register(root: self.root)
        var options = Daemon.Options(root: self.root)
        options.listenPort = 0
        options.accessLog = false
        options.shutdownGrace = .milliseconds(500)
        options.threads = 2
        configure(&options)
        daemon = try Daemon(options: options)
        port = try await daemon.start().port!
    }

    /// The control client; each call runs on its own thread (see `offThePool`), because the
    /// in-process daemon answers from Swift's cooperative pool, which a blocked test would starve.
    var client: AsyncControlClient { AsyncControlClient(client: ControlClient(socketPath: root + "/baton.sock")) }

    /// Stops the daemon and starts a new one on the same root.
    func restart() async throws {
        await daemon.stop()
        var options = daemon.options
        options.listenPort = 0
        daemon = try await Self.daemonOnceTheRootIsFree(options)
        port = try await daemon.start().port!
    }

    /// A new daemon in this process, once the last one's root lock is free. The lock goes with
    /// the last descriptor of its open file, and a process another test is spawning right now
    /// holds a copy from its fork until its exec (close-on-exec): for a moment, in a busy
    /// test process, the root still looks taken. A daemon in a process of its own never sees
    /// this: its exit closes every copy it could have lent.
    private static func daemonOnceTheRootIsFree(_ options: Daemon.Options) async throws -> Daemon {
        let deadline = ContinuousClock.now + .seconds(5)
        while true {
            do {
                return try Daemon(options: options)
            } catch let error as BatonError where error.code == .conflict && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
    }

    func stop(removeRoot: Bool = true) async {
        await daemon.stop()
        if removeRoot {
            TestNetwork.remove(root: root)
            try? FileManager.default.removeItem(atPath: root)
        }
    }

    static func with(
        configure: (inout Daemon.Options) -> Void = { _ in },
        _ body: (DaemonFixture) async throws -> Void
    ) async throws {
        let fixture = try await DaemonFixture(configure: configure)
        do {
            try await body(fixture)
        } catch {
            await fixture.stop()
            throw error
        }
        await fixture.stop()
    }

    /// One HTTP/1.1 request through the proxy; returns status line and body.
    func get(_ path: String, host: String) async throws -> (status: Int, body: String) {
        let port = self.port
        let reply = try await offThePool { try RawHTTP.exchange(port: port, "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n") }
        return RawHTTP.parse(reply)
    }
}

/// `ControlClient` with every call off the cooperative pool.
struct AsyncControlClient: Sendable {
    let client: ControlClient
    func createApp(_ spec: AppSpec) async throws -> AppInfo { try await offThePool { try client.createApp(spec) } }
    func listApps() async throws -> [AppInfo] { try await offThePool { try client.listApps() } }
    func app(named name: String) async throws -> AppInfo { try await offThePool { try client.app(named: name) } }
    func removeApp(named name: String) async throws { try await offThePool { try client.removeApp(named: name) } }
    func metrics() async throws -> String { try await offThePool { try client.metrics() } }
    func parseApplyFile(file: String, text: String) async throws -> ApplyFile {
        try await offThePool { try client.parseApplyFile(file: file, text: text) }
    }
    func call(_ method: String, _ path: String, body: Data) async throws -> Data {
        try await offThePool { try client.call(method, path, body: body) }
    }
}

enum RawHTTP {
    /// Sends `request` to 127.0.0.1:`port` and reads until the server closes (or `timeout`
    /// seconds pass without a byte).
    static func exchange(port: Int, _ request: String, timeout: Int = 10) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        let bytes = Array(request.utf8)
        _ = send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL))
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            out += buffer[0..<count]
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func parse(_ reply: String) -> (status: Int, body: String) {
        let status = Int(reply.split(separator: " ").dropFirst().first ?? "") ?? 0
        let body = reply.range(of: "\r\n\r\n").map { String(reply[$0.upperBound...]) } ?? ""
        return (status, body)
    }
}

/// A minimal HTTP backend on 127.0.0.1: answers every request "hello <path>" and records paths.
final class EchoBackend: @unchecked Sendable {
    // `paths` is guarded by `lock`; `fd` and `port` are set once in init.
    let fd: Int32
    let port: Int
    private let lock = NSLock()
    private var seen: [String] = []

    var paths: [String] { lock.withLock { seen } }

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        listen(fd, 64)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        port = Int(UInt16(bigEndian: address.sin_port))
        let listener = fd
        Thread.detachNewThread { [self] in
            while true {
                let connection = accept(listener, nil, nil)
                if connection < 0 { return }
                Thread.detachNewThread { self.serve(connection) }
            }
        }
    }

    private func serve(_ connection: Int32) {
        defer { close(connection) }
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            while let end = pending.indices.dropLast(3).first(where: { pending[$0] == 13 && pending[$0 + 1] == 10 && pending[$0 + 2] == 13 && pending[$0 + 3] == 10 }) {
                let head = String(decoding: pending[..<end], as: UTF8.self)
                pending.removeFirst(end + 4)
                let path = head.split(separator: " ").dropFirst().first.map(String.init) ?? "?"
                lock.withLock { seen.append(path) }
                let body = "hello \(path)"
                let reply = Array("HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8)
                _ = send(connection, reply, reply.count, Int32(MSG_NOSIGNAL))
            }
            let count = recv(connection, &buffer, buffer.count, 0)
            if count <= 0 { return }
            pending += buffer[0..<count]
        }
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}
