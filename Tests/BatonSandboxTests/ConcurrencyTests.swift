import BatonOS
import BatonSandbox
import Foundation
import Testing

/// The launcher is called from a multithreaded daemon: launches must not deadlock or see
/// each other's descriptors.
@Suite(.enabled(if: isRoot, "requires root"))
struct ConcurrencyTests {
    @Test func sixtyFourConcurrentLaunchesFromOneProcess() async throws {
        let fixture = try SandboxFixture()
        let ids = (0..<64).map { "c\($0)-\(UUID().uuidString.prefix(6).lowercased())" }
        defer { fixture.finish(checking: ids) }
        let launcher = SandboxLauncher(root: fixture.root)
        let results = try await withThrowingTaskGroup(of: (String, String, Int32).self) { group in
            for id in ids {
                group.addTask {
                    try await Task.detached { try Self.launchAndCollect(launcher, fixture: fixture, id: id) }.value
                }
            }
            var collected: [(String, String, Int32)] = []
            for try await result in group { collected.append(result) }
            return collected
        }
        #expect(results.count == 64)
        for (id, output, status) in results {
            #expect(status == 0)
            // Each sandbox wrote its own id and saw only its own stdio: no pipe crossed over.
            #expect(output == "\(id)\n0 1 2 3\n", "sandbox \(id) printed \(output)")
        }
    }

    static func launchAndCollect(_ launcher: SandboxLauncher, fixture: SandboxFixture, id: String) throws -> (String, String, Int32) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw OSError("pipe", errno: errno) }
        var spec = SandboxSpec(id: id, root: .directory(fixture.rootfs),
                               argv: ["/bin/sh", "-c", "hostname; ls /proc/self/fd | tr '\\n' ' ' | sed 's/ $//'; echo"])
        spec.stdio = [-1, fds[1], -1]
        let sandbox: Sandbox
        do {
            sandbox = try launcher.launch(spec)
        } catch {
            close(fds[0]); close(fds[1])
            throw error
        }
        close(fds[1])
        var output = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fds[0], &buffer, buffer.count)
            if n <= 0 { break }
            output.append(contentsOf: buffer[0..<n])
        }
        close(fds[0])
        let exit = try sandbox.wait()
        sandbox.destroy()
        return (id, String(decoding: output, as: UTF8.self), exit.status)
    }
}
