import BatonOS
import Foundation
import Glibc
import Synchronization
import Testing

/// The pidfd of a process handle has one owner: closing the handle while other threads wait
/// on it wakes them, and the descriptor is closed only once the last of them has let go.
@Suite struct ProcessHandleTests {
    @Test func closingWhileThreadsWaitWakesThemAndNoCallUsesTheDescriptorAfterwards() throws {
        let child = try SpawnedChild("/bin/sleep", "60")
        defer { child.end() }
        let handle = try child.handle()
        let returned = Atomic(0)
        let waiters = Mutex<[Int32]>([])
        for _ in 0..<4 {
            Thread.detachNewThread {
                // "PID/task/TID": this thread's id, which Glibc does not export gettid for.
                let tid = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self"))?.split(separator: "/").last
                waiters.withLock { $0.append(tid.flatMap { Int32($0) } ?? 0) }
                // Forever: only the close can end this wait, the process keeps running.
                _ = handle.waitForExit(timeout: nil)
                returned.add(1, ordering: .relaxed)
            }
        }
        // Close only once every waiter is blocked in poll(2) on the descriptor.
        let blocked = Date().addingTimeInterval(5)
        func allPolling() -> Bool {
            let tids = waiters.withLock { $0 }
            return tids.count == 4 && tids.allSatisfy(Self.isInPoll)
        }
        while !allPolling() && Date() < blocked { usleep(1_000) }
        #expect(allPolling())
        #expect(returned.load(ordering: .relaxed) == 0)

        handle.close()
        let deadline = Date().addingTimeInterval(5)
        while returned.load(ordering: .relaxed) < 4 && Date() < deadline { usleep(1_000) }
        #expect(returned.load(ordering: .relaxed) == 4, "a waiter is still blocked on a closed handle")
        // The process was let go, not waited for: it still runs, and the handle refuses to act.
        #expect(kill(child.pid, 0) == 0)
        #expect(!handle.isRunning)
        #expect(handle.withPidFD { $0 } == nil)
        #expect(throws: OSError.self) { try handle.signal(SIGKILL) }
        #expect(kill(child.pid, 0) == 0, "a closed handle must not signal whatever its old descriptor number names now")
        #expect(handle.waitForExit(timeout: nil))
    }

    /// Whether thread `tid` of this process is inside poll(2) now (poll or ppoll, by number).
    private static func isInPoll(_ tid: Int32) -> Bool {
        let call = (try? String(contentsOfFile: "/proc/self/task/\(tid)/syscall", encoding: .utf8))?.split(separator: " ").first
        #if arch(x86_64)
        return call == "7" || call == "271"
        #else
        return call == "73"
        #endif
    }

    @Test func aWaiterSeesTheExitAndTheHandleReapsIt() throws {
        let child = try SpawnedChild("/bin/sh", "-c", "exit 3")
        defer { child.end() }
        let handle = try child.handle()
        #expect(handle.waitForExit(timeout: 10))
        #expect(!handle.isRunning)
        #expect(try handle.poll() == .exited(3))
        child.reaped = true
    }
}

/// The network namespace handle: pinned by a descriptor, equal for one namespace, refused for
/// a process that is gone.
@Suite struct NetworkNamespaceTests {
    @Test func twoHandlesOnOneNamespaceAreEqualAndNameIt() throws {
        let me = try ProcessHandle.attach(to: try #require(ProcessIdentity.of(pid: getpid())))
        let first = try NetworkNamespace.of(me)
        let second = try NetworkNamespace.of(me)
        #expect(first == second)
        #expect(first.hashValue == second.hashValue)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net") == first.description)
    }

    @Test func aProcessThatHasExitedHasNoNamespaceToHold() throws {
        let child = try SpawnedChild("/bin/sh", "-c", "exit 0")
        defer { child.end() }
        let handle = try child.handle()
        #expect(handle.waitForExit(timeout: 10))
        // A zombie now: its pid is still its own, but it has no namespaces left.
        #expect(throws: OSError.self) { try NetworkNamespace.of(handle) }
    }
}

/// A child started with posix_spawn (so Foundation does not reap it behind the test's back).
final class SpawnedChild: @unchecked Sendable {
    // Used from the test's thread only.
    let pid: pid_t
    var reaped = false

    init(_ argv: String...) throws {
        var pid: pid_t = 0
        let arguments = argv.map { strdup($0) } + [nil]
        defer { arguments.forEach { free($0) } }
        guard posix_spawn(&pid, argv[0], nil, nil, arguments, environ) == 0 else { throw POSIXError(.ENOEXEC) }
        self.pid = pid
    }

    /// A handle on it: its pid stays its own until the test reaps it, even once it has exited.
    func handle() throws -> ProcessHandle {
        guard let identity = ProcessIdentity.of(pid: pid) else { throw POSIXError(.ESRCH) }
        return try ProcessHandle.attach(to: identity)
    }

    func end() {
        guard !reaped else { return }
        kill(pid, SIGKILL)
        waitpid(pid, nil, 0)
        reaped = true
    }
}
