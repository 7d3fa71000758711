import BatonControl
import BatonOS
import BatonTestSupport
import Foundation
import Glibc
import Testing

/// `baton daemon … & baton app create …`: a command run while the daemon is still starting
/// waits for its control socket (missing, or refusing) instead of failing at once; with no
/// daemon at all it still ends with one `error:` line naming the socket.
@Suite(.enabled(if: geteuid() == 0, "requires root"))
struct ControlClientStartWaitTests {
    @Test(arguments: [false, true])
    func aClientWaitsForASocketThatAppearsOrStartsListening(boundFirst: Bool) async throws {
        let directory = TempDir(prefix: "baton-start-wait")
        defer { directory.remove() }
        let path = directory.sub("baton.sock")
        // Bound and not listening refuses (ECONNREFUSED); not there at all is ENOENT.
        let server = try UnixServer(path: path, listening: !boundFirst ? nil : false)
        defer { server.close() }
        let client = ControlClient(socketPath: path, connectWait: .seconds(60))
        let reply = Mutexed<Result<Data, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            reply.set(Result { try client.call("GET", "/v1/health") })
            done.signal()
        }
        // The client is meant to be trying by now; the server starts to listen only then.
        usleep(300_000)
        try server.listen()
        server.answerOnce("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        #expect(done.wait(timeout: .now() + 60) == .success)
        #expect(try reply.get()?.get() == Data("ok".utf8))
    }

    @Test func aClientWithoutWaitFailsAtOnceNamingTheSocket() {
        let path = "/tmp/baton-none-\(UUID().uuidString.prefix(8))/baton.sock"
        let error = #expect(throws: BatonError.self) { try ControlClient(socketPath: path).call("GET", "/v1/health") }
        #expect(error?.message == "no daemon at \(path): start one with 'baton daemon'")
    }

    @Test func aCommandWithNoDaemonEndsWithOneErrorLineAfterTheWait() throws {
        let root = "/tmp/baton-none-\(UUID().uuidString.prefix(8))"
        let result = try BatonExecutable.run(["app", "ls", "--root", root])
        #expect(result.status != 0)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr == "error: no daemon at \(root)/baton.sock: start one with 'baton daemon'\n")
        #expect(!FileManager.default.fileExists(atPath: root), "nothing made")
    }

    @Test func aCommandStartedBeforeTheDaemonSucceedsOnceItListens() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("baton-start-wait-\(UUID().uuidString.prefix(8))").path
        let command = ChildProcess()
        let tied = TestProcessLifetime.tied([BatonExecutable.path, "app", "create", "web", "--host", "web.localhost", "--root", root])
        command.executableURL = URL(fileURLWithPath: tied[0])
        command.arguments = Array(tied.dropFirst())
        let stderr = Pipe()
        command.standardOutput = FileHandle.nullDevice
        command.standardError = stderr
        command.standardInput = FileHandle.nullDevice
        try TestProcessLifetime.start(command)
        defer { command.terminate(); command.waitUntilExit() }
        let daemon = try DaemonProcess(root: root)
        defer {
            daemon.stop()
            TestNetwork.remove(root: root)
            try? FileManager.default.removeItem(atPath: root)
        }
        let message = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        command.waitUntilExit()
        #expect(command.terminationStatus == 0, "\(message)")
        let listed = try BatonExecutable.run(["app", "ls", "--root", root])
        #expect(listed.stdout.contains("web.localhost"), "\(listed.stdout)\(listed.stderr)")
    }
}

/// A Unix socket server made in steps: bound (refusing), then listening, then one answer.
private final class UnixServer: @unchecked Sendable {
    // Set in init and `listen()` on the test's thread before the answering thread starts.
    private var fd: Int32 = -1
    private let path: String

    /// `listening`: nil makes nothing yet (the path is missing), false binds without listening.
    init(path: String, listening: Bool?) throws {
        self.path = path
        if listening != nil { try bind() }
    }

    private func bind() throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8))
            raw[path.utf8.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw OSError("bind \(path)", errno: errno) }
    }

    func listen() throws {
        if fd < 0 { try bind() }
        guard Glibc.listen(fd, 8) == 0 else { throw OSError("listen \(path)", errno: errno) }
    }

    /// Reads one request head and answers `reply`, on a thread of its own.
    func answerOnce(_ reply: String) {
        let fd = self.fd
        Thread.detachNewThread {
            let connection = accept(fd, nil, nil)
            guard connection >= 0 else { return }
            defer { Glibc.close(connection) }
            var request: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !String(decoding: request, as: UTF8.self).contains("\r\n\r\n") {
                let count = recv(connection, &buffer, buffer.count, 0)
                if count <= 0 { return }
                request += buffer[..<count]
            }
            let bytes = Array(reply.utf8)
            _ = send(connection, bytes, bytes.count, Int32(MSG_NOSIGNAL))
        }
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        unlink(path)
    }
}
