import BatonOS
@testable import BatonSandbox
import BatonTestSupport
import Foundation
import Glibc
import Testing

/// The compiled-program cache under the root: found without building the rules, and never
/// trusted blindly, since whatever it holds is loaded into every sandbox.
@Suite struct SeccompProgramCacheTests {
    /// Runs `body` with a fresh root and a counter of how often the rules were asked for.
    private func withRoot(_ body: (String, () -> SeccompRules, () -> Int) throws -> Void) throws {
        let root = TempDir(prefix: "baton-seccomp-cache")
        defer { root.remove() }
        let counter = Counter()
        try body(root.path, { counter.value += 1; return SeccompProfile.rules }, { counter.value })
    }

    private final class Counter { var value = 0 }

    private func entry(_ root: String, profile: String = "default") -> String {
        "\(root)/seccomp/\(profile)-\(String(SeccompProgramCache.key(profile: profile), radix: 16)).bpf"
    }

    @Test func theProgramIsCompiledOnceAndThenFoundWithoutItsRules() throws {
        let compiled = try SeccompProfile.rules.compile()
        try withRoot { root, rules, built in
            #expect(try SeccompProgramCache.program(named: "default", rules: rules, root: root) == compiled)
            #expect(built() == 1)
            #expect(try SeccompProgramCache.program(named: "default", rules: rules, root: root) == compiled)
            #expect(built() == 1, "a hit builds no rules")

            var info = stat()
            #expect(stat(entry(root), &info) == 0)
            #expect(info.st_mode & 0o777 == 0o600 && info.st_uid == geteuid())
            #expect(stat(root + "/seccomp", &info) == 0)
            #expect(info.st_mode & 0o777 == 0o700)
            #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/seccomp") == [PathName.lastComponent(of: entry(root))])

            // Another profile has another key, so never meets this program.
            #expect(SeccompProgramCache.key(profile: "init") != SeccompProgramCache.key(profile: "default"))
            let initProgram = try SeccompProgramCache.program(named: "init", rules: { SeccompProfile.initRules }, root: root)
            #expect(initProgram == (try SeccompProfile.initRules.compile()))
        }
    }

    /// Each damage is refused (the rules are built again) and the entry is rewritten whole.
    @Test func aTamperedOrTruncatedEntryIsRefusedAndRebuilt() throws {
        let compiled = try SeccompProfile.rules.compile()
        try withRoot { root, rules, built in
            _ = try SeccompProgramCache.program(named: "default", rules: rules, root: root)
            let path = entry(root)
            let whole = try Data(contentsOf: URL(fileURLWithPath: path))
            var flipped = whole
            flipped[whole.count - 3] ^= 0x01           // one bit of the program
            var wrongKey = whole
            wrongKey[8] ^= 0x01                         // the key in the header
            var longer = whole
            longer.append(contentsOf: [UInt8](repeating: 0, count: 8))
            let damages: [(String, Data)] = [
                ("a flipped bit", flipped), ("a wrong key", wrongKey), ("cut short", whole.prefix(whole.count - 8)),
                ("cut to its header", whole.prefix(32)), ("an extra instruction", longer), ("empty", Data()),
            ]
            for (index, (what, bytes)) in damages.enumerated() {
                // Written in place, keeping the file's owner and mode: only the content is wrong.
                let fd = open(path, O_WRONLY | O_TRUNC)
                #expect(fd >= 0)
                _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                close(fd)
                #expect(try SeccompProgramCache.program(named: "default", rules: rules, root: root) == compiled, "\(what)")
                #expect(built() == 2 + index, "\(what) is refused")
                #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == whole, "\(what) is rebuilt")
            }
        }
    }

    /// An entry that someone other than Baton could have written or swapped is not used.
    @Test func anEntryOthersCouldHaveWrittenIsRefused() throws {
        let compiled = try SeccompProfile.rules.compile()
        try withRoot { root, rules, built in
            _ = try SeccompProgramCache.program(named: "default", rules: rules, root: root)
            let path = entry(root)
            var expectedBuilds = 1

            chmod(path, 0o644)
            #expect(try SeccompProgramCache.program(named: "default", rules: rules, root: root) == compiled)
            expectedBuilds += 1
            #expect(built() == expectedBuilds, "a file others can read or write is refused")

            chown(path, 65_534, 65_534)
            #expect(try SeccompProgramCache.program(named: "default", rules: rules, root: root) == compiled)
            expectedBuilds += 1
            #expect(built() == expectedBuilds, "a file of another user is refused")

            let other = root + "/elsewhere.bpf"
            #expect(link(path, other) == 0)
            #expect(try SeccompProgramCache.program(named: "default", rules: rules, root: root) == compiled)
            expectedBuilds += 1
            #expect(built() == expectedBuilds, "a file with another name elsewhere is refused")
            unlink(other)

            let elsewhere = root + "/real.bpf"
            #expect(rename(path, elsewhere) == 0 && symlink(elsewhere, path) == 0)
            #expect(try SeccompProgramCache.program(named: "default", rules: rules, root: root) == compiled)
            expectedBuilds += 1
            #expect(built() == expectedBuilds, "a symlink is not followed")

            chmod(root + "/seccomp", 0o755)
            #expect(try SeccompProgramCache.program(named: "default", rules: rules, root: root) == compiled)
            expectedBuilds += 1
            #expect(built() == expectedBuilds, "nothing is read from a directory others can enter")
            #expect(try SeccompProgramCache.program(named: "default", rules: rules, root: root) == compiled)
            expectedBuilds += 1
            #expect(built() == expectedBuilds, "nor written there")
        }
    }
}
