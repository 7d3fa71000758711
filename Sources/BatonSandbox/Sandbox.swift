import BatonOS
import FoundationEssentials
import Glibc
import Synchronization

/// A running sandbox: its init process (PID 1 inside), cgroup and directory. Killing init
/// kills everything in the sandbox; `destroy()` removes what the launch created on the host.
public final class Sandbox: Sendable {
    public let id: String
    public let process: ProcessHandle
    public let cgroup: Cgroup
    /// $BATON_ROOT/sandboxes/<id>: its record, and (in its own mount namespace) its root.
    public let directory: String
    /// The init's pid and start time, as recorded in `sandbox.json` (nil if it was gone before
    /// it could be read).
    public let identity: ProcessIdentity?

    /// An exclusive flock on the directory, held for the sandbox's life by its launcher:
    /// a directory whose lock is free belongs to a launcher that died.
    let lockFD: Int32
    /// Set by the first `destroy` or `detach`: both release the lock descriptor exactly once.
    private let released = Mutex(false)

    init(id: String, process: ProcessHandle, cgroup: Cgroup, directory: String, identity: ProcessIdentity?, lockFD: Int32) {
        self.id = id
        self.process = process
        self.cgroup = cgroup
        self.directory = directory
        self.identity = identity
        self.lockFD = lockFD
    }

    /// The host pid of the sandbox's init.
    public var pid: pid_t { process.pid }

    /// Waits for the sandbox to end, forwarding `signals` (already blocked by the caller) to
    /// init, which passes them to the program. After `timeout` seconds it is killed.
    /// With a `relay`, copies the program's stdio while it runs.
    public func wait(timeout: Double? = nil, forwarding signals: [Int32] = [], relay: StdioRelay? = nil) throws -> SandboxExit {
        switch try SignalWait.wait(for: process, forwarding: signals, timeout: timeout, relay: relay) {
        case .exited(let exit):
            return SandboxExit(process: exit, timedOut: false, oomKilled: cgroup.oomKilled)
        case .timedOut:
            kill()
            let exit = try process.wait()
            relay?.finish()
            return SandboxExit(process: exit, timedOut: true, oomKilled: cgroup.oomKilled)
        }
    }

    /// `wait`, then `destroy`, however the wait ended: if waiting fails, the sandbox is killed
    /// and reaped first, so a failed wait leaves no sandbox behind.
    public func waitAndDestroy(timeout: Double? = nil, forwarding signals: [Int32] = [], relay: StdioRelay? = nil) throws -> SandboxExit {
        let exit: SandboxExit
        do {
            exit = try wait(timeout: timeout, forwarding: signals, relay: relay)
        } catch {
            kill()
            _ = try? process.wait()
            destroy()
            throw error
        }
        destroy()
        return exit
    }

    /// Asks the program to stop (SIGTERM, which init forwards), waits up to `grace` seconds,
    /// then kills the whole sandbox. Returns once init is gone.
    public func stop(grace: Double) {
        try? process.signal(SIGTERM)
        if !process.waitForExit(timeout: grace) {
            kill()
            _ = process.waitForExit(timeout: nil)
        }
    }

    /// SIGKILL to init: the kernel then kills every process in the sandbox's pid namespace.
    public func kill() {
        try? process.signal(SIGKILL)
    }

    /// Sends a signal to init, which forwards the usual ones to the program.
    public func signal(_ signal: Int32) throws {
        try process.signal(signal)
    }

    /// Takes over a sandbox whose launcher is gone (a daemon restarted after `kill -9`): the
    /// recorded init must still be the same process (pid and start time) and no other
    /// launcher may hold the sandbox's lock. The caller becomes responsible for destroying it.
    public static func adopt(root: String, id: String) throws -> Sandbox {
        let record = try SandboxRecord.running(root: root, id: id)
        let directory = SandboxDirectory.path(root: root, id: id)
        guard let lockFD = SandboxDirectory.lock(directory) else {
            if errno == EWOULDBLOCK { throw BatonError(.conflict, "sandbox '\(id)' is held by a running launcher") }
            throw BatonError(.notFound, "sandbox '\(id)' has no directory; it cannot be adopted")
        }
        do {
            let process = try ProcessHandle.attach(to: record.initProcess)
            let cgroup = Cgroup(hierarchy: CgroupHierarchy.host ?? .v1([:]), paths: record.cgroupPaths)
            // Third check after pid and start time: the process is in the sandbox's cgroup.
            guard cgroup.paths.isEmpty || cgroup.contains(pid: record.initProcess.pid) else {
                process.close()
                throw BatonError(.notFound, "process \(record.initProcess.pid) is not in sandbox '\(id)''s cgroup")
            }
            return Sandbox(id: id, process: process, cgroup: cgroup, directory: directory, identity: record.initProcess, lockFD: lockFD)
        } catch {
            close(lockFD)
            throw BatonError(.notFound, "sandbox '\(id)' is no longer running", cause: error)
        }
    }

    /// Lets go of a sandbox that keeps running (a daemon shutting down): releases the lock so
    /// that a later `adopt` can take it over.
    public func detach() {
        guard release() else { return }
        close(lockFD)
        process.close()
    }

    private func release() -> Bool {
        released.withLock { done in
            defer { done = true }
            return !done
        }
    }

    /// Removes the cgroup and the sandbox directory. Call once the sandbox has exited.
    public func destroy() {
        guard release() else { return }
        cgroup.remove()
        SandboxDirectory.remove(directory, lockFD: lockFD)
        process.close()
    }
}

