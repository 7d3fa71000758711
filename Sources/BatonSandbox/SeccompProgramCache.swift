import BatonOS
import Glibc

/// Compiled seccomp programs, kept under the root as `seccomp/<profile>-<key>.bpf`: building a
/// profile's rules and compiling them costs more than reading the result back (with
/// libseccomp it was about 2 ms, half of a sandbox's start), and `baton run` is a new process
/// every time.
///
/// The key names what the program was compiled from without building the rules (which, with
/// their fingerprint, cost 2 % of a start): the profile's name, the executable that holds the
/// rules (its device, inode, size, modification and change times: an upgrade, even one that
/// keeps the inode, changes them) and libseccomp's version. Building the rules again for a
/// miss is what the old key cost on every start.
///
/// The file is root's, 0600, in the root's 0700 directories: whoever could change it could
/// change Baton itself. It is still checked before it is used, since a bad filter would be
/// loaded into every sandbox: the directory must be ours and closed to others, the file a
/// regular one of ours with one link and no access for others, and its header must carry the
/// expected key, the program's length (the file's size) and a checksum of the program. Anything
/// else is refused, compiled afresh and replaced.
enum SeccompProgramCache {
    /// "BTSECC01": the layout below; another layout is refused.
    static let magic: UInt64 = 0x3130_4343_4553_5442
    /// magic, key, instruction count, checksum; then the instructions.
    static let headerWords = 4

    static func program(named profile: String, rules: () -> SeccompRules, root: String) throws(OSError) -> [UInt64] {
        let directory = root + "/seccomp"
        let key = self.key(profile: profile)
        let path = "\(directory)/\(profile)-\(String(key, radix: 16)).bpf"
        if let cached = read(path, directory: directory, key: key) { return cached }
        let program = try rules().compile()
        // A root that cannot be written to still runs sandboxes; it only compiles each time.
        if mkdir(directory, 0o700) == 0 || errno == EEXIST, isPrivateDirectory(directory) {
            write(program, key: key, to: path)
        }
        return program
    }

    /// What a program compiled by this executable for `profile` depends on.
    static func key(profile: String) -> UInt64 {
        var hash = Checksum()
        hash.mix(magic)
        for byte in profile.utf8 { hash.mix(UInt64(byte)) }
        hash.mix(UInt64(profile.utf8.count))
        hash.mix(SeccompRules.libraryVersion)
        for word in executableIdentity { hash.mix(word) }
        return hash.value
    }

    /// The running executable's file, as `stat` sees it through /proc/self/exe; empty when
    /// it cannot be seen (the key then depends on the profile and libseccomp only, which is
    /// still right for one executable, and the rules' own words never change without a new one).
    static let executableIdentity: [UInt64] = {
        var info = stat()
        guard stat("/proc/self/exe", &info) == 0 else { return [] }
        return [UInt64(info.st_dev), UInt64(info.st_ino), UInt64(info.st_size),
                UInt64(info.st_mtim.tv_sec), UInt64(info.st_mtim.tv_nsec),
                UInt64(info.st_ctim.tv_sec), UInt64(info.st_ctim.tv_nsec)]
    }()

    /// FNV-1a, a word at a time (bytes low first): the key, and the program's checksum.
    struct Checksum {
        private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
        mutating func mix(_ word: UInt64) {
            for shift in stride(from: 0, to: 64, by: 8) {
                value = (value ^ ((word >> UInt64(shift)) & 0xff)) &* 0x0000_0100_0000_01b3
            }
        }
    }

    static func checksum(key: UInt64, _ program: some Collection<UInt64>) -> UInt64 {
        var hash = Checksum()
        hash.mix(key)
        hash.mix(UInt64(program.count))
        for word in program { hash.mix(word) }
        return hash.value
    }

    /// Owned by us and closed to everyone else: nobody else can have put anything in it.
    static func isPrivateDirectory(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR && info.st_uid == geteuid() && info.st_mode & 0o077 == 0
    }

    /// The program at `path` if every check in the type's comment passes.
    private static func read(_ path: String, directory: String, key: UInt64) -> [UInt64]? {
        guard isPrivateDirectory(directory) else { return nil }
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_uid == geteuid(), info.st_nlink == 1,
              info.st_mode & 0o077 == 0 else { return nil }
        let words = Int(info.st_size) / 8
        guard info.st_size % 8 == 0, words > headerWords, words - headerWords <= 4096 else { return nil }
        var file = [UInt64](repeating: 0, count: words)
        let count = file.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count == Int(info.st_size), file[0] == magic, file[1] == key, file[2] == UInt64(words - headerWords) else { return nil }
        let program = file[headerWords...]
        guard file[3] == checksum(key: key, program) else { return nil }
        return Array(program)
    }

    /// Written aside (0600) and renamed into place: a reader sees the whole file or none.
    private static func write(_ program: [UInt64], key: UInt64, to path: String) {
        let file = [magic, key, UInt64(program.count), checksum(key: key, program)] + program
        let temporary = "\(path).tmp-\(UInt64.random(in: 0...UInt64.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return }
        let written = file.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        if written != file.count * 8 || rename(temporary, path) != 0 { unlink(temporary) }
    }
}
