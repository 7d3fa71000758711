import Foundation
import Glibc
import Testing

/// `baton daemon` is the `baton-daemon` executable beside `baton`, run in baton's place.
@Suite struct DaemonExecutableTests {
    @Test(arguments: [["daemon", "--help"], ["help", "daemon"]])
    func helpIsTheDaemons(_ arguments: [String]) async throws {
        let result = try await offThePool { try BatonExecutable.run(arguments) }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("USAGE: baton daemon"))
        #expect(result.stdout.contains("--listen"))
        #expect(result.stdout.contains("--preview-domain"))
    }

    @Test func theDaemonReportsBatonsVersion() async throws {
        let baton = try await offThePool { try BatonExecutable.run(["--version"]) }
        let daemon = try await offThePool { try BatonExecutable.run(["daemon", "--version"]) }
        #expect(daemon.status == 0, "\(daemon.stderr)")
        #expect(!baton.stdout.isEmpty)
        #expect(daemon.stdout == baton.stdout, "an installed pair must match")
    }

    @Test func aBadFlagIsOneErrorLineFromTheDaemon() async throws {
        let result = try await offThePool { try BatonExecutable.run(["daemon", "--listen", "nowhere"]) }
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(lines.first?.hasPrefix("error: invalid --listen 'nowhere'") == true, "\(result.stderr)")
    }

    @Test func theDaemonKeepsThePidBatonStartedWith() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("baton-exec-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let daemon = try await offThePool { try DaemonProcess(root: root) }
        defer { daemon.stop() }
        // The process Foundation started as `baton daemon` is the one now running baton-daemon.
        let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(daemon.process.processIdentifier)/exe")
        #expect(exe.hasSuffix("/baton-daemon"), "\(exe)")
    }

    @Test func withoutBatonDaemonBesideItBatonSaysSoInOneLine() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-alone-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let alone = directory + "/baton"
        try FileManager.default.copyItem(atPath: BatonExecutable.path, toPath: alone)
        let result = try await offThePool { try BatonExecutable.run(["daemon"], executable: alone) }
        #expect(result.status == 2)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(lines.first?.hasPrefix("error: cannot start the daemon: execv \(directory)/baton-daemon") == true, "\(result.stderr)")
    }
}
