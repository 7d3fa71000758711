import Foundation
import Glibc
import Synchronization

/// A program the tests start, with the part of Foundation's `Process` interface they use.
///
/// Why not `Process`: swift-corelibs-foundation watches each child through a CFSocket whose
/// manager thread calls select(2), and glibc aborts the whole test process ("bit out of range
/// 0 - FD_SETSIZE on fd_set") once any descriptor it watches is 1024 or above — which a
/// parallel run of suites that hold many sockets reaches. This one is posix_spawn(3) and
/// waitid(2): no descriptor limit, no helper thread.
///
/// The child gets an empty signal mask and default dispositions (the test runner blocks most
/// signals, and a blocked mask is inherited), and no descriptor of the test process beyond its
/// standard three.
public final class ChildProcess: @unchecked Sendable {
    public enum TerminationReason: Sendable {
        case exit
        case uncaughtSignal
    }

    public var executableURL: URL?
    public var arguments: [String] = []
    /// nil: the test process's own.
    public var environment: [String: String]?
    /// A `FileHandle` or a `Pipe` (its far end is closed here once the child runs); nil: the
    /// test process's own.
    public var standardInput: Any?
    public var standardOutput: Any?
    public var standardError: Any?

    private let state = Mutex<(pid: pid_t, status: Int32?)>((0, nil))

    public init() {}

    public var processIdentifier: Int32 { state.withLock { $0.pid } }

    public func run() throws {
        guard let path = executableURL?.path else { throw ChildProcessError("no executable to run") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (stream, target) in [(standardInput, STDIN_FILENO), (standardOutput, STDOUT_FILENO), (standardError, STDERR_FILENO)] {
            if let fd = Self.descriptor(stream, forInput: target == STDIN_FILENO) {
                posix_spawn_file_actions_adddup2(&actions, fd, target)
            }
        }
        _ = Self.addCloseFrom(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = [path] + arguments
        let environment = (self.environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let result = Self.withCStrings(argv) { argvPointer in
            Self.withCStrings(environment) { environmentPointer in
                posix_spawn(&pid, path, &actions, &attributes, argvPointer, environmentPointer)
            }
        }
        guard result == 0 else { throw ChildProcessError("cannot run \(path): \(String(cString: strerror(result)))") }
        state.withLock { $0 = (pid, nil) }
        // The child holds its ends of the pipes now; the parent keeps only its own, so a
        // reader sees end-of-file when the child exits.
        (standardInput as? Pipe).map { try? $0.fileHandleForReading.close() }
        (standardOutput as? Pipe).map { try? $0.fileHandleForWriting.close() }
        (standardError as? Pipe).map { try? $0.fileHandleForWriting.close() }
    }

    public var isRunning: Bool {
        reap(blocking: false)
        return state.withLock { $0.pid != 0 && $0.status == nil }
    }

    public func waitUntilExit() {
        reap(blocking: true)
    }

    /// The exit code, or the signal that ended it. Only after the child has ended.
    public var terminationStatus: Int32 {
        guard let status = endedStatus else { preconditionFailure("terminationStatus of a child that has not ended") }
        return Self.exited(status) ? (status >> 8) & 0xff : status & 0x7f
    }

    public var terminationReason: TerminationReason {
        guard let status = endedStatus else { preconditionFailure("terminationReason of a child that has not ended") }
        return Self.exited(status) ? .exit : .uncaughtSignal
    }

    public func terminate() {
        if isRunning { kill(processIdentifier, SIGTERM) }
    }

    private var endedStatus: Int32? {
        reap(blocking: false)
        return state.withLock { $0.status }
    }

    /// Collects the child's status once it has ended. Waiting (`blocking`) does not reap, so
    /// threads that wait and threads that poll never race for the one status.
    private func reap(blocking: Bool) {
        let pid = state.withLock { $0.pid }
        guard pid != 0 else { return }
        if blocking {
            var info = siginfo_t()
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR {}
        }
        state.withLock { current in
            guard current.status == nil else { return }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { current.status = status }
        }
    }

    /// glibc's posix_spawn_file_actions_addclosefrom_np (2.34+), which its Swift module does
    /// not export: the child closes every descriptor from 3 up before it runs.
    private static let addCloseFrom: @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32 = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else {
            fatalError("glibc without posix_spawn_file_actions_addclosefrom_np: the tests need glibc 2.34 or later")
        }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    private static func exited(_ status: Int32) -> Bool { status & 0x7f == 0 }

    private static func descriptor(_ stream: Any?, forInput: Bool) -> Int32? {
        switch stream {
        case let handle as FileHandle: return handle.fileDescriptor
        case let pipe as Pipe: return forInput ? pipe.fileHandleForReading.fileDescriptor : pipe.fileHandleForWriting.fileDescriptor
        default: return nil
        }
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) } + [nil]
        defer { pointers.forEach { free($0) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
