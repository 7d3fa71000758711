import BatonOS
import Glibc

extension SeccompProfile {
    /// Baton's init (CShims child_init.c) once its filter is on: it reads signals and the
    /// program's output, writes the sandbox's log and rotates it, forwards signals, reaps and
    /// exits; `restart_syscall` resumes its poll after the host stops and continues it. Nothing
    /// else: any other call kills it (and with it the sandbox), since init never makes one
    /// unless subverted. The program's whole allowlist would do too, but the kernel translates
    /// and compiles every filter it loads, and this one is 19 instructions against 215: 0.03 ms
    /// of a sandbox's start (docs/benchmarks.md).
    static let initCalls = [
        "poll", "read", "write", "openat", "renameat", "close", "kill", "wait4", "exit_group", "restart_syscall",
    ]

    static let initRules: SeccompRules = {
        var filter = SeccompRules(defaultAction: .killProcess, badArchitecture: .killProcess)
        for name in initCalls { filter.add(.allow, name) }
        return filter
    }()
}
