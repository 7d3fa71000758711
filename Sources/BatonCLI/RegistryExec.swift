import BatonCommandLine
import BatonOS
import BatonStore
import Glibc

/// The registry commands (`artifact push/pull`, `login`, `logout`) are parsed here, for
/// `--help` and argument errors, and run by `baton-daemon registry …`, which links the HTTP
/// client `baton` must not (Package.swift).
enum RegistryExec {
    static func run(_ subcommand: String, root: String, _ arguments: [String]) -> Never {
        DaemonExecutable.exec(["registry", subcommand, "--root", root] + arguments)
    }

    /// `baton artifact push REF DEST`: a registry destination, or (on another branch) ssh://.
    static func push(root: String, artifact: String, destination: String, insecure: Bool) throws -> Never {
        if destination.hasPrefix("ssh://") {
            throw BatonError(.invalidArgument, "pushing to ssh:// destinations is not supported by this build; push to REGISTRY/REPO[:TAG]")
        }
        _ = try Reference(parsing: artifact)
        _ = try RegistryReference(parsing: destination)
        run("push", root: root, [artifact, destination] + (insecure ? ["--insecure"] : []))
    }

    /// `baton build`'s `FROM REGISTRY/REPO…`: runs `baton-daemon registry pull` as a child (its
    /// progress on our stderr) and returns the digest it prints last, a local REF.
    static func pullBase(root: String, reference: String, insecure: Bool) throws -> String {
        _ = try RegistryReference(parsing: reference)
        let arguments = [DaemonExecutable.name, "registry", "pull", "--root", root, "--name-by-digest", reference] + (insecure ? ["--insecure"] : [])
        var pipe: [Int32] = [-1, -1]
        try sys("pipe") { Glibc.pipe(&pipe) }
        // Close-on-exec, so only the child's stdout (a dup2 of the write end) keeps it open.
        for fd in pipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let executable = DaemonExecutable.path()
        let pid: pid_t
        do throws(OSError) {
            pid = try ProgramSpawn.start(arguments, executable: executable, stdout: pipe[1])
        } catch {
            close(pipe[0]); close(pipe[1])
            throw BatonError(.unavailable, "cannot start \(executable) to pull \(reference): \(error.reason) (errno \(error.errno))")
        }
        close(pipe[1])
        defer { close(pipe[0]) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while output.count < 65536 {
            let count = read(pipe[0], &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            output += chunk[0..<count]
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let digest = String(decoding: output, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        // The pull has said why on stderr, as one `error:` line: the build stops with its status.
        guard status == 0, Digest(digest) != nil else {
            throw CommandExit(status: (status & 0x7f) == 0 && (status >> 8) & 0xff != 0 ? (status >> 8) & 0xff : 1)
        }
        return digest
    }
}
