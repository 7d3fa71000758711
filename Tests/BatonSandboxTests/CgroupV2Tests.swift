import BatonOS
import BatonSandbox
import Foundation
import Testing

/// The cgroup v2 path (CLONE_INTO_CGROUP, one unified directory) on whatever v2 mount this
/// host has. On a hybrid host the unified mount has no controllers, so placement, the
/// namespace root and removal are exercised; limits need a pure v2 host.
@Suite(.enabled(if: isRoot && unifiedMount != nil, "requires root and a cgroup2 mount"))
struct CgroupV2Tests {
    @Test func aSandboxIsClonedIntoItsV2CgroupAndTheCgroupIsRemoved() throws {
        let fixture = try SandboxFixture()
        let id = "v2-\(UUID().uuidString.prefix(8).lowercased())"
        let mount = try #require(unifiedMount)
        defer { fixture.finish() }
        var spec = SandboxSpec(id: id, root: .directory(fixture.rootfs), argv: ["/bin/sh", "-c", "cat /proc/self/cgroup | grep '^0::'"])
        spec.cgroupAccounting = true
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        spec.stdio = [-1, fds[1], -1]
        let launcher = SandboxLauncher(root: fixture.root, cgroups: .v2(mount))
        let sandbox = try launcher.launch(spec)
        close(fds[1])
        let directory = "\(mount)/baton/\(id)"
        #expect(sandbox.cgroup.paths == [directory])
        let output = FileHandle(fileDescriptor: fds[0], closeOnDealloc: true).readDataToEndOfFile()
        let exit = try sandbox.wait()
        sandbox.destroy()
        #expect(exit.status == 0)
        // Inside, the cgroup namespace is rooted at the sandbox's own v2 cgroup.
        #expect(String(decoding: output, as: UTF8.self) == "0::/\n")
        #expect(!FileManager.default.fileExists(atPath: directory))
    }
}

/// A cgroup2 mount point on this host, if any.
let unifiedMount: String? = {
    let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
    for line in mounts.split(separator: "\n") where line.contains(" - cgroup2 ") {
        return String(line.split(separator: " ")[4])
    }
    return nil
}()
