import BatonOS
import Glibc

/// Turns the child path's (stage, index, errno) record into words a user can act on.
enum SetupFailure {
    /// The C child path's stages, in bt_spawn.h's order.
    static let stageNames = [
        1: "clone", 2: "sync with parent", 3: "closing inherited descriptors", 4: "parent-death signal",
        5: "cgroup namespace", 6: "private mount propagation", 7: "staging tmpfs", 8: "root skeleton",
        9: "overlay root", 10: "mount", 11: "pivot_root", 12: "hostname", 13: "loopback interface",
        14: "non-dumpable init", 15: "fork of the program", 16: "stdio", 17: "setsid", 18: "working directory",
        19: "rlimit", 20: "setgroups", 21: "setgid", 22: "setuid", 23: "capabilities",
        24: "no_new_privs", 25: "seccomp", 26: "exec", 27: "init", 28: "log file", 29: "joining the sandbox's namespaces",
    ]

    static let mountStage: Int32 = 10
    static let workdirStage: Int32 = 18
    static let execStage: Int32 = 26

    static func error(_ failure: SpawnFailure, program: String, workdir: String, mounts: [SpawnRequest.Mount]) -> BatonError {
        let reason = String(cString: strerror(failure.errno))
        switch failure.stage {
        case execStage where failure.errno == ENOENT:
            return BatonError(.notFound, "program '\(program)' not found in the root", cause: failure, exitStatus: 127)
        case execStage where failure.errno == EACCES:
            return BatonError(.setupFailed, "program '\(program)' is not executable", cause: failure, exitStatus: 126)
        case workdirStage:
            return BatonError(.setupFailed, "sandbox setup failed at working directory '\(workdir)': \(reason)", cause: failure)
        case mountStage where Int(failure.index) < mounts.count:
            let mount = mounts[Int(failure.index)]
            return BatonError(.setupFailed, "sandbox setup failed at mount /\(mount.target): \(reason)", cause: failure)
        default:
            let stage = stageNames[Int(failure.stage)] ?? "stage \(failure.stage)"
            return BatonError(.setupFailed, "sandbox setup failed at \(stage): \(reason)", cause: failure)
        }
    }
}
