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

/// busybox httpd serving `BusyboxRoot`'s page on a port inside a real sandbox, with a scratch
/// directory beside it; `with` removes all of it, killing the sandbox unless the test did.
final class HttpdSandbox: Sendable {
    let sandbox: Sandbox
    /// A directory of the test's own, outside the sandbox (also the launcher's state root).
    let scratch: String
    private let reaped = Flag()

    private init(sandbox: Sandbox, scratch: String) {
        self.sandbox = sandbox
        self.scratch = scratch
    }

    static func with(port: Int, _ body: (HttpdSandbox) async throws -> Void) async throws {
        let rootfs = try BusyboxRoot()
        defer { rootfs.remove() }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("baton-proxy-state-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let id = "proxy-httpd-\(UUID().uuidString.prefix(8).lowercased())"
        let spec = SandboxSpec(id: id, root: .directory(rootfs.path), argv: ["/bin/busybox", "httpd", "-f", "-p", "\(port)", "-h", "/www"])
        let httpd = HttpdSandbox(sandbox: try await launchBounded(spec, stateRoot: scratch), scratch: scratch)
        defer {
            if !httpd.reaped.isSet {
                httpd.sandbox.kill()
                _ = try? httpd.sandbox.wait()
            }
            httpd.sandbox.destroy()
        }
        try await body(httpd)
    }

    /// Kills the sandbox and reaps its init.
    func kill() async throws {
        sandbox.kill()
        let sandbox = self.sandbox
        _ = try await offThePool { try sandbox.wait() }
        reaped.set()
    }
}
