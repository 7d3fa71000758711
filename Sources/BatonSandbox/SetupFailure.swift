import BatonOS
import Glibc

/// Turns the child path's (stage, index, errno) record into words a user can act on.
enum SetupFailure {
    static func error(_ failure: SpawnFailure, program: String, workdir: String, mounts: [SpawnRequest.Mount]) -> BatonError {
        let reason = String(cString: strerror(failure.errno))
        switch failure.stage {
        case SpawnFailure.execStage where failure.errno == ENOENT:
            return BatonError(.notFound, "program '\(program)' not found in the root", cause: failure, exitStatus: 127)
        case SpawnFailure.execStage where failure.errno == EACCES:
            return BatonError(.setupFailed, "program '\(program)' is not executable", cause: failure, exitStatus: 126)
        case SpawnFailure.workdirStage:
            return BatonError(.setupFailed, "sandbox setup failed at working directory '\(workdir)': \(reason)", cause: failure)
        case SpawnFailure.mountStage where Int(failure.index) < mounts.count:
            let mount = mounts[Int(failure.index)]
            return BatonError(.setupFailed, "sandbox setup failed at mount /\(mount.target): \(reason)", cause: failure)
        default:
            return BatonError(.setupFailed, "sandbox setup failed at \(failure.stageName): \(reason)", cause: failure)
        }
    }
}
