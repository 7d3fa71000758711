import BatonOS
@testable import BatonSandbox
import Foundation
import Testing

/// A NUL inside an argument or an environment entry would cut the C string short: the program
/// would run with something other than what was asked. (The CLI's own arguments are C strings
/// and cannot carry one; the daemon's JSON API can.) Refused before anything is created.
@Suite(.enabled(if: isRoot, "requires root"))
struct NULByteTests {
    func refusal(_ fixture: SandboxFixture, _ change: (inout SandboxSpec) -> Void) -> String? {
        var spec = SandboxSpec(id: "nul", root: .directory(fixture.rootfs), argv: ["/bin/true"])
        change(&spec)
        do {
            let sandbox = try SandboxLauncher(root: fixture.root).launch(spec)
            sandbox.kill()
            _ = try? sandbox.process.wait()
            sandbox.destroy()
            return nil
        } catch let error as BatonError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test func argumentsEnvironmentAndWorkdirWithANULAreRefused() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        #expect(refusal(fixture) { $0.argv = ["/bin/echo", "a\u{0}b"] } == "argument 1 of the program contains a NUL byte, which no program can receive")
        #expect(refusal(fixture) { $0.environment = ["A=x\u{0}; rm -rf /"] } == "environment variable 'A' contains a NUL byte, which no program can receive")
        #expect(refusal(fixture) { $0.workdir = "/tmp\u{0}/x" } == "the working directory contains a NUL byte")
        #expect(!FileManager.default.fileExists(atPath: fixture.root + "/sandboxes/nul"), "nothing was created")
        #expect(refusal(fixture) { _ in } == nil, "the same spec without a NUL runs")
    }
}
