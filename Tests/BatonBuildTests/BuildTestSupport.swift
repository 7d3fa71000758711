import BatonTestSupport
import Foundation
import Glibc

let isRoot = geteuid() == 0

/// A temp directory for one test, removed in `defer`, with a Baton root and a build context.
struct BuildFixture {
    private let directory = TempDir(prefix: "baton-build-test")

    var path: String { directory.path }

    func remove() { directory.remove() }

    func sub(_ name: String) -> String { directory.sub(name) }

    var root: String { sub("root") }
    var context: String { sub("context") }

    /// Writes `text` at `path` (absolute), making its parent directories.
    static func write(_ path: String, _ text: String, mode: mode_t = 0o644) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, mode)
    }

    /// A file in the build context.
    func context(_ name: String, _ text: String, mode: mode_t = 0o644) throws {
        try Self.write(context + "/" + name, text, mode: mode)
    }

    func batonfile(_ text: String) throws {
        try Self.write(context + "/Batonfile", text)
    }

    /// Publishes `NAME:VERSION` as a busybox root (`/bin/busybox`, `/bin/sh`), with
    /// `/etc/gone.txt` and `/data/old.txt` for steps to delete, and `/lib -> usr/lib`.
    func publishBusyboxBase(_ tag: String = "base:1", root: String? = nil) throws {
        let tree = sub("busybox-tree")
        if !FileManager.default.fileExists(atPath: tree) {
            try FileManager.default.createDirectory(atPath: tree + "/bin", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: tree + "/bin/busybox")
            for tool in ["sh", "echo", "cat", "ls", "rm", "mkdir", "mknod", "mount", "pwd", "test", "touch", "id"] {
                _ = symlink("busybox", tree + "/bin/" + tool)
            }
            try Self.write(tree + "/etc/gone.txt", "delete me\n")
            try Self.write(tree + "/etc/passwd", "root:x:0:0:root:/:/bin/sh\n")
            try Self.write(tree + "/data/old.txt", "old\n")
            // Merged /usr: a COPY into /lib must follow the link, not replace it.
            try Self.write(tree + "/usr/lib/base.txt", "base\n")
            _ = symlink("usr/lib", tree + "/lib")
            for directory in ["tmp", "proc", "dev", "sys", "mnt"] {
                try FileManager.default.createDirectory(atPath: tree + "/" + directory, withIntermediateDirectories: true)
            }
        }
        let result = try baton(["artifact", "publish", tag, tree], root: root ?? self.root)
        guard result.status == 0 else { throw FixtureError("publishing the busybox base failed: \(result.stderr)") }
    }

    /// Runs `baton` with `root` as its root; stdout and stderr go through files (a pipe could
    /// fill while the other is read).
    @discardableResult
    func baton(_ arguments: [String], root: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        guard let binary = batonBinary else { throw FixtureError("build the baton product first (swift build), or set BATON_BIN") }
        let outPath = sub("stdout-\(UInt32.random(in: 0...UInt32.max))"), errPath = outPath + ".err"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        defer { unlink(outPath); unlink(errPath) }
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["BATON_ROOT": root ?? self.root]) { $1 }
        let out = FileHandle(forWritingAtPath: outPath)!, err = FileHandle(forWritingAtPath: errPath)!
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        try process.run()
        process.waitUntilExit()
        try out.close()
        try err.close()
        let stdout = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return (process.terminationStatus, stdout, stderr)
    }

    /// `baton build` of the context's Batonfile as `tag`.
    func build(_ tag: String, root: String? = nil, extra: [String] = []) throws -> (status: Int32, stdout: String, stderr: String) {
        try baton(["build", "-f", context + "/Batonfile"] + extra + [tag, context], root: root)
    }

    /// Every path under `root` with its size (-1 for what is not a regular file), for
    /// "nothing changed" checks.
    static func snapshot(_ root: String) -> [String: Int64] {
        var result: [String: Int64] = [:]
        for path in FileManager.default.subpaths(atPath: root) ?? [] {
            var info = stat()
            let isFile = lstat(root + "/" + path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
            result[path] = isFile ? Int64(info.st_size) : -1
        }
        return result
    }

    /// The names bound in the root's store.
    func artifactNames(root: String? = nil) throws -> [String] {
        let listed = try baton(["artifact", "ls", "--json"], root: root)
        let rows = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]] ?? []
        return rows.compactMap { $0["name"] as? String }
    }
}

extension String {
    /// The last line (a command's result: the manifest digest).
    var lastLine: String { split(separator: "\n").last.map(String.init) ?? "" }
    var lines: [String] { split(separator: "\n").map(String.init) }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
