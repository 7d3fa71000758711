import BatonOS

/// How a sandbox ended, as `baton run` reports it.
public struct SandboxExit: Sendable, Equatable {
    /// Init's exit: the program's status, 128+N when signal N killed the program.
    public let process: ProcessExit
    public let timedOut: Bool
    /// The kernel's OOM killer killed a process in the sandbox's cgroup.
    public let oomKilled: Bool

    /// The status `baton run` exits with: 124 on timeout, else the shell convention.
    public var status: Int32 { timedOut ? 124 : process.shellStatus }
}
