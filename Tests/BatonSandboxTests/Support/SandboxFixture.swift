@testable import BatonSandbox
import BatonOS
import BatonTestSupport
import Foundation
import Testing

/// A busybox root shared by every sandbox test (read-only inside sandboxes, so sharing is
/// safe), with the static attack probe at /probe. Removed when the test process exits.
enum SharedRootfs {
    static let path: String = {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("baton-rootfs-\(getpid())").path
        let bin = base + "/bin"
        try! FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        for directory in ["etc", "root", "srv", "home/user"] {
            try! FileManager.default.createDirectory(atPath: "\(base)/\(directory)", withIntermediateDirectories: true)
        }
        try! FileManager.default.copyItem(atPath: "/bin/busybox", toPath: bin + "/busybox")
        let applets = shell("/bin/busybox --list").split(separator: "\n")
        for applet in applets where applet != "busybox" {
            try? FileManager.default.createSymbolicLink(atPath: "\(bin)/\(applet)", withDestinationPath: "busybox")
        }
        try! "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n".write(toFile: base + "/etc/passwd", atomically: true, encoding: .utf8)
        let probeSource = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/probe.c").path
        let compile = shell("cc -static -O1 -o \(base)/probe \(probeSource) 2>&1; echo $?")
        precondition(compile.hasSuffix("0\n"), "cannot build the probe: \(compile)")
        atexit { try? FileManager.default.removeItem(atPath: SharedRootfs.path) }
        return base
    }()
}

/// One test's Baton state directory, and the checks that nothing outlives the test.
struct SandboxFixture {
    let root: String
    let rootfs = SharedRootfs.path

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("baton-test-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    /// `baton run --rootfs <busybox> FLAGS -- PROGRAM…`
    func run(_ flags: [String] = [], _ program: [String], input: String? = nil, limit: Double = 60) throws -> BatonBinary.Result {
        try BatonBinary.run(["run", "--rootfs", rootfs] + flags + ["--"] + program, root: root, input: input, limit: limit)
    }

    func sh(_ script: String, flags: [String] = []) throws -> BatonBinary.Result {
        try run(flags, ["/bin/sh", "-c", script])
    }

    /// Checks nothing of sandbox `id` is left: no cgroup, no sandbox directory, no mount
    /// under the state root. Then removes the state root.
    func finish(checking ids: [String] = []) {
        for id in ids {
            for directory in Self.cgroupDirectories(id: id) {
                #expect(!FileManager.default.fileExists(atPath: directory), "cgroup \(directory) left behind")
            }
            #expect(!FileManager.default.fileExists(atPath: "\(root)/sandboxes/\(id)"), "sandbox directory left behind")
        }
        // A sandbox another test of this process is starting can hold the sandboxes' tmpfs
        // past the last removal's retries (SandboxesTmpfs.release): what the next removal
        // would do, done here; any other mount left is a leak.
        SandboxesTmpfs.release(root: root)
        let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        #expect(!mounts.contains(root), "a mount under \(root) was left behind")
        try? FileManager.default.removeItem(atPath: root)
        try? FileManager.default.removeItem(atPath: RuntimeDirectory.path(root: root))
    }

    static func cgroupDirectories(id: String) -> [String] {
        ["memory", "pids", "cpu", "unified"].map { "/sys/fs/cgroup/\($0)/baton/\(id)" } + ["/sys/fs/cgroup/baton/\(id)"]
    }
}

let isRoot = geteuid() == 0
