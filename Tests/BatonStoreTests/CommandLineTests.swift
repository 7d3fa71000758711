import BatonTestSupport
import BatonOS
import Foundation
import Testing
@testable import BatonStore

/// The `baton artifact` commands as a user runs them: results on stdout, one `error:` line.
@Suite struct CommandLineTests {
    @Test(.enabled(if: isRoot, "requires root"))
    func publishPrintsDigestLastAndBadInputGivesOneErrorLine() throws {
        let binary = try #require(batonBinary, "build the baton product first (swift build), or set BATON_BIN")
        let temp = TempDir()
        defer { temp.remove() }
        let root = temp.sub("root")
        try Tree.sample(at: temp.sub("app"))
        func baton(_ arguments: String...) throws -> (status: Int32, stdout: String, stderr: String) {
            try runProgram(binary, arguments, environment: ["BATON_ROOT": root])
        }
        let published = try baton("artifact", "publish", "app:1", temp.sub("app"), "--cmd", "/bin/app 'a b'", "--port", "8080")
        #expect(published.status == 0, "\(published.stderr)")
        let digest = published.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(Digest(digest) != nil)
        #expect(try baton("artifact", "publish", "app:1", temp.sub("app"), "--cmd", "/bin/app 'a b'", "--port", "8080").stdout
            .hasSuffix(digest + "\n"))

        let listed = try baton("artifact", "ls", "--json")
        let rows = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]]
        #expect(rows?.first?["name"] as? String == "app:1")
        #expect(rows?.first?["digest"] as? String == digest)
        let inspected = try baton("artifact", "inspect", "app:1", "--json")
        let object = try JSONSerialization.jsonObject(with: Data(inspected.stdout.utf8)) as? [String: Any]
        for key in ["name", "digest", "layers", "config", "base", "reproducible"] {
            #expect(object?[key] != nil, "inspect --json lacks \(key)")
        }
        #expect((object?["config"] as? [String: Any])?["cmd"] as? [String] == ["/bin/app", "a b"])

        let before = snapshot(root)
        let bad: [[String]] = [
            ["artifact", "publish", "app:2", temp.sub("missing")],
            ["artifact", "publish", "not a ref", temp.sub("app")],
            ["artifact", "inspect", "nope:1"],
            ["artifact", "export", "nope:1", "-o", temp.sub("out.tar")],
            ["artifact", "import", temp.sub("missing.tar")],
            ["artifact", "rm", "nope:1"],
            ["artifact", "publish", "app:1", temp.sub("app")],
        ]
        for arguments in bad {
            let result = try runProgram(binary, arguments, environment: ["BATON_ROOT": root])
            #expect(result.status != 0, "\(arguments)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].hasPrefix("error: "), "\(arguments): \(result.stderr)")
            #expect(snapshot(root) == before, "\(arguments) changed the store")
        }
        #expect(!FileManager.default.fileExists(atPath: temp.sub("out.tar")))
    }
}

/// libarchive is loaded on first use. On a host without it, a command that needs it says so in
/// one line and fails; it never exits the process from inside the library (which, in the
/// daemon, would take every app down with it).
@Suite struct MissingLibarchiveTests {
    @Test(.enabled(if: isRoot, "requires root"))
    func aHostWithoutLibarchiveGetsOneErrorLine() throws {
        let binary = try #require(batonBinary, "build the baton product first (swift build), or set BATON_BIN")
        let temp = TempDir()
        defer { temp.remove() }
        try Tree.sample(at: temp.sub("app"))
        // In a private mount namespace, the library is /dev/null: dlopen fails as on a host
        // that never installed it.
        let library = "/usr/lib/x86_64-linux-gnu/libarchive.so.13"
        let script = "mount --bind /dev/null \(library) && exec \(binary) artifact publish app:1 \(temp.sub("app")) --root \(temp.sub("root"))"
        let result = try runProgram("/usr/bin/unshare", ["-m", "--propagation", "private", "/bin/sh", "-c", script], environment: [:])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("error: cannot load libarchive.so.13"), "\(result.stderr)")
        #expect(result.stderr.hasSuffix("run scripts/setup, or apt-get install libarchive13\n"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }
}
