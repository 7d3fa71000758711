import BatonSandbox
import Foundation
import Glibc
import Synchronization

/// Runs blocking work (launches, waits, blocking sockets) on its own thread, so it never holds
/// one of the few threads of Swift's cooperative pool that other suites' servers need.
func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}

/// Launches a sandbox with a bounded wait: if the launch has not returned after `limit`
/// seconds (a child stuck before exec), the sandbox's init, our child whose mounts name
/// `stateRoot`, is killed so the launch returns and the test fails instead of hanging.
func launchBounded(_ spec: SandboxSpec, stateRoot: String, limit: Int = 60) async throws -> Sandbox {
    let finished = Flag()
    Thread.detachNewThread {
        for _ in 0..<(limit * 10) {
            if finished.isSet { return }
            usleep(100_000)
        }
        if !finished.isSet { killChildSandboxes(mentioning: stateRoot) }
    }
    defer { finished.set() }
    return try await offThePool { try SandboxLauncher(root: stateRoot).launch(spec) }
}

private func killChildSandboxes(mentioning stateRoot: String) {
    let me = getpid()
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let pid = Int32(entry),
            let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            status.split(separator: "\n").contains("PPid:\t\(me)"),
            let mounts = try? String(contentsOfFile: "/proc/\(pid)/mountinfo", encoding: .utf8),
            mounts.contains(stateRoot)
        else { continue }
        kill(pid, SIGKILL)
    }
}

final class Flag: Sendable {
    private let value = Atomic(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}
