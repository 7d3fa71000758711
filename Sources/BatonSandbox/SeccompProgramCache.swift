import BatonOS
import Glibc

/// The compiled default profile, kept under the root as `seccomp/<fingerprint>.bpf`: compiling
/// it with libseccomp costs about 2 ms, half of a sandbox's start, and `baton run` is a new
/// process every time. The name is the rules' fingerprint (they and libseccomp's version), so a
/// changed profile or library compiles afresh and never meets a stale program. The file is
/// root's, in the 0700 root: whoever could change it could change Baton itself.
enum SeccompProgramCache {
    static func program(_ rules: SeccompRules, root: String) throws(OSError) -> [UInt64] {
        let directory = root + "/seccomp"
        let path = "\(directory)/\(String(rules.fingerprint, radix: 16)).bpf"
        if let cached = read(path) { return cached }
        let program = try rules.compile()
        // A root that cannot be written to still runs sandboxes; it only compiles each time.
        if mkdir(directory, 0o700) == 0 || errno == EEXIST { write(program, to: path) }
        return program
    }

    /// The program at `path`, if it is there and plausibly whole: a non-empty multiple of
    /// 8 bytes within the kernel's 4096-instruction limit.
    private static func read(_ path: String) -> [UInt64]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size > 0, info.st_size % 8 == 0, info.st_size <= 4096 * 8 else { return nil }
        var program = [UInt64](repeating: 0, count: Int(info.st_size) / 8)
        let count = program.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        return count == Int(info.st_size) ? program : nil
    }

    /// Written aside and renamed into place: a reader sees the whole program or none.
    private static func write(_ program: [UInt64], to path: String) {
        let temporary = "\(path).tmp-\(UInt64.random(in: 0...UInt64.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let written = program.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        if written != program.count * 8 || rename(temporary, path) != 0 { unlink(temporary) }
    }
}
