import BatonOS
import BatonTestSupport
import Foundation
import Glibc
import Testing

/// systemd's socket activation variables and sd_notify, spoken without libsystemd.
@Suite struct ServiceManagerTests {
    @Test func socketActivationVariablesNameDescriptorsFromThree() {
        let sockets = ServiceManager.inheritedSockets(listenPID: "42", listenFDs: "3", names: "proxy:tls:control", pid: 42)
        #expect(sockets.map(\.fd) == [3, 4, 5])
        #expect(sockets.map(\.name) == ["proxy", "tls", "control"])
    }

    @Test func variablesMeantForAnotherProcessOrMalformedGiveNothing() {
        #expect(ServiceManager.inheritedSockets(listenPID: "41", listenFDs: "2", names: nil, pid: 42).isEmpty)
        #expect(ServiceManager.inheritedSockets(listenPID: nil, listenFDs: "2", names: nil, pid: 42).isEmpty)
        for count in [nil, "", "two", "0", "-1", "2x", " 2", "99999999999999999999"] {
            #expect(ServiceManager.inheritedSockets(listenPID: "42", listenFDs: count, names: nil, pid: 42).isEmpty, "LISTEN_FDS=\(count ?? "unset")")
        }
        for pid in ["", "x42", "42 ", "+42x"] {
            #expect(ServiceManager.inheritedSockets(listenPID: pid, listenFDs: "1", names: nil, pid: 42).isEmpty, "LISTEN_PID=\(pid)")
        }
    }

    @Test func missingOrEmptyNamesAreNil() {
        let short = ServiceManager.inheritedSockets(listenPID: "7", listenFDs: "3", names: "proxy", pid: 7)
        #expect(short.map(\.fd) == [3, 4, 5])
        #expect(short.map(\.name) == ["proxy", nil, nil])
        let gap = ServiceManager.inheritedSockets(listenPID: "7", listenFDs: "3", names: "proxy::metrics:extra", pid: 7)
        #expect(gap.map(\.name) == ["proxy", nil, "metrics"])
        let none = ServiceManager.inheritedSockets(listenPID: "7", listenFDs: "2", names: nil, pid: 7)
        #expect(none.map(\.name) == [nil, nil])
    }

    static let reportVariable = "BATON_TEST_ACTIVATION_REPORT"

    /// Started as systemd starts a unit: a listener at descriptor 3, LISTEN_PID its own pid.
    @Test func anActivatedProcessAdoptsItsSocketAndHidesTheVariablesFromChildren() throws {
        let dir = TempDir(prefix: "baton-activation")
        defer { dir.remove() }
        let report = dir.sub("report")
        let listener = try ListeningSocket.tcp(host: "127.0.0.1", port: 0)
        defer { close(listener) }
        let address = try #require(ListeningSocket.address(of: listener))

        // The shell moves the listener from stdin to 3 (not close-on-exec, as systemd leaves
        // it) and names its own pid, which exec keeps, as the one the sockets are for.
        let script = #"exec 3<&0 </dev/null; LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=proxy exec "$0" --testing-library swift-testing --filter activatedProcessBody"#
        let run = ChildProcess()
        run.executableURL = URL(fileURLWithPath: "/bin/sh")
        run.arguments = ["-c", script, CommandLine.arguments[0]]
        run.environment = ProcessInfo.processInfo.environment.merging([Self.reportVariable: report]) { $1 }
        run.standardInput = FileHandle(fileDescriptor: listener, closeOnDealloc: false)
        // The run's own report would mix into this one's.
        let quiet = try #require(FileHandle(forWritingAtPath: "/dev/null"))
        defer { try? quiet.close() }
        run.standardOutput = quiet
        run.standardError = quiet
        try run.run()
        run.waitUntilExit()
        #expect(run.terminationReason == .exit && run.terminationStatus == 0)
        let seen = try String(contentsOfFile: report, encoding: .utf8)
        #expect(seen == "3:proxy inherited-cloexec=0 cloexec=1 environment=unset \(address)\n")
    }

    /// Not a check of its own: the process the test above starts.
    @Test(.enabled(if: ProcessInfo.processInfo.environment[reportVariable] != nil, "run by anActivatedProcessAdoptsItsSocket…"))
    func activatedProcessBody() throws {
        let report = try #require(getenv(Self.reportVariable).map { String(cString: $0) })
        let before = fcntl(3, F_GETFD) & FD_CLOEXEC
        let sockets = ServiceManager.inheritedSockets()
        let after = sockets.first.map { fcntl($0.fd, F_GETFD) & FD_CLOEXEC } ?? -1
        let variables: [String] = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"]
        let left = variables.filter { getenv($0) != nil }
        let names = sockets.map { "\($0.fd):\($0.name ?? "-")" }.joined(separator: ",")
        let address = ListeningSocket.address(of: 3).map(String.init(describing:)) ?? "none"
        let text = "\(names) inherited-cloexec=\(before) cloexec=\(after) environment=\(left.isEmpty ? "unset" : left.joined(separator: ",")) \(address)\n"
        try text.write(toFile: report, atomically: true, encoding: .utf8)
    }

    @Test func notifySendsExactlyTheStateAsOneDatagram() throws {
        let dir = TempDir(prefix: "baton-notify")
        defer { dir.remove() }
        let path = dir.sub("notify")
        let receiver = try Datagram(path: Array(path.utf8))
        defer { receiver.close() }
        #expect(ServiceManager.notify("READY=1", socketPath: path))
        #expect(ServiceManager.notify("MAINPID=123\nREADY=1", socketPath: path))
        #expect(receiver.next() == "READY=1")
        #expect(receiver.next() == "MAINPID=123\nREADY=1")
        #expect(receiver.next() == nil)
    }

    @Test func notifyReachesAnAbstractSocket() throws {
        let name = "baton-test-notify-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let receiver = try Datagram(path: [0] + Array(name.utf8))
        defer { receiver.close() }
        let state = "RELOADING=1\nMONOTONIC_USEC=\(ServiceManager.monotonicMicroseconds)"
        #expect(ServiceManager.notify(state, socketPath: "@" + name))
        #expect(receiver.next() == state)
        #expect(receiver.next() == nil)
    }

    @Test func notifyWithoutAReachableSocketIsFalse() throws {
        let dir = TempDir(prefix: "baton-notify")
        defer { dir.remove() }
        #expect(!ServiceManager.notify("READY=1", socketPath: ""))
        #expect(!ServiceManager.notify("READY=1", socketPath: "relative/notify"))
        #expect(!ServiceManager.notify("READY=1", socketPath: dir.sub("nobody-listens")))
        #expect(!ServiceManager.notify("READY=1", socketPath: "/" + String(repeating: "x", count: 200)))
        // Unset: only asked when it really is, never to notify a service manager running these tests.
        if getenv("NOTIFY_SOCKET") == nil {
            #expect(!ServiceManager.notify("READY=1"))
        }
    }

    @Test func monotonicMicrosecondsMoveForward() {
        let first = ServiceManager.monotonicMicroseconds
        let second = ServiceManager.monotonicMicroseconds
        #expect(first > 0)
        #expect(second >= first)
    }
}

/// A bound SOCK_DGRAM socket standing in for systemd's notify socket.
private struct Datagram {
    let fd: Int32

    /// `path` as it goes into sun_path: a leading NUL for the abstract namespace.
    init(path: [UInt8]) throws(OSError) {
        fd = try sys("socket") { socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path) }
        let abstract = path.first == 0
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count + (abstract ? 0 : 1))
        let fd = fd
        do {
            try sys("bind") {
                withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
            }
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    /// The next queued datagram; nil when none is (a unix datagram is queued before sendto returns).
    func next() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        return count >= 0 ? String(decoding: buffer[..<count], as: UTF8.self) : nil
    }

    func close() { Glibc.close(fd) }
}
