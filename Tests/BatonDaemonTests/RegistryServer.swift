import BatonTestSupport
import Foundation
import Glibc

/// Debian's `docker-registry` (the CNCF distribution registry) started by a test on
/// 127.0.0.1 and a free port, storing in its own temp directory, plain HTTP (or HTTPS with a
/// given certificate and key), with htpasswd (bcrypt, written by `htpasswd -B`) or token auth
/// when asked. It dies with the test process;
/// `stop()` (in `defer`) kills it and removes its files.
final class RegistryServer {
    enum Auth {
        case none
        case htpasswd(user: String, password: String)
        /// `auth: token:` trusting `certificate`, whose tokens `realm` issues.
        case token(realm: String, certificate: String)
    }

    let directory: String
    let port: Int
    private var running: ChildProcess?
    var host: String { "127.0.0.1:\(port)" }
    var storage: String { directory + "/data" }
    var logPath: String { directory + "/registry.log" }

    static var available: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/docker-registry") }

    init(auth: Auth = .none, tls: (certificate: String, key: String)? = nil) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-registry-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        var config = """
            version: 0.1
            log:
              level: debug
            storage:
              filesystem:
                rootdirectory: \(directory)/data
              delete:
                enabled: true
            http:
              secret: baton-test-secret
              addr: 127.0.0.1:PORT

            """
        if let tls {
            config = config.replacingOccurrences(of: "  addr: 127.0.0.1:PORT\n",
                                                 with: "  addr: 127.0.0.1:PORT\n  tls:\n    certificate: \(tls.certificate)\n    key: \(tls.key)\n")
        }
        switch auth {
        case .none:
            break
        case .htpasswd(let user, let password):
            let hashed = try RegistryCLI.program("/usr/bin/htpasswd", ["-Bbn", user, password])
            guard hashed.status == 0 else { throw DaemonProcessError("htpasswd failed: \(hashed.stderr)") }
            try hashed.stdout.write(toFile: directory + "/htpasswd", atomically: true, encoding: .utf8)
            config += "auth:\n  htpasswd:\n    realm: baton-test\n    path: \(directory)/htpasswd\n"
        case .token(let realm, let certificate):
            config += "auth:\n  token:\n    realm: \(realm)\n    service: baton-test-registry\n    issuer: baton-test-issuer\n    rootcertbundle: \(certificate)\n"
        }
        let logPath = directory + "/registry.log"
        var lastLog = ""
        // A port freed a moment ago may be taken by then: try a few.
        for _ in 0..<5 {
            let port = try ReservedPort.released()
            try config.replacingOccurrences(of: "127.0.0.1:PORT", with: "127.0.0.1:\(port)").write(toFile: directory + "/config.yml", atomically: true, encoding: .utf8)
            let config = directory + "/config.yml"
            let child = ChildProcess()
            let command = TestProcessLifetime.tied(["/usr/bin/docker-registry", "serve", config])
            child.executableURL = URL(fileURLWithPath: command[0])
            child.arguments = Array(command.dropFirst())
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
            child.standardOutput = FileHandle.nullDevice
            child.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
            child.standardInput = FileHandle.nullDevice
            try TestProcessLifetime.start(child)
            for _ in 0..<200 where child.isRunning && !Self.listening(port) { usleep(25_000) }
            if child.isRunning && Self.listening(port) {
                self.port = port
                running = child
                return
            }
            if child.isRunning { kill(child.processIdentifier, SIGKILL) }
            child.waitUntilExit()
            lastLog = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        }
        try? FileManager.default.removeItem(atPath: directory)
        throw DaemonProcessError("docker-registry did not start: \(lastLog)")
    }

    func stop() {
        if let running, running.isRunning {
            kill(running.processIdentifier, SIGKILL)
            running.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The registry's log: one line per request it served.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Where the registry keeps a blob's bytes on disk (distribution's filesystem driver).
    func blobDataPath(_ digest: String) -> String {
        let hex = String(digest.dropFirst("sha256:".count))
        return "\(storage)/docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data"
    }

    static func listening(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr = in_addr(s_addr: UInt32(0x7f00_0001).bigEndian)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}

/// `baton` and other programs as the registry tests run them: with stdin and extra
/// environment, killed with the test process or after 120 s.
enum RegistryCLI {
    /// `baton --root ROOT ARGS` (root inserted before any `--`).
    static func baton(_ arguments: [String], root: String, input: String? = nil, environment: [String: String] = [:]) throws -> BatonExecutable.Result {
        var arguments = arguments
        arguments.insert(contentsOf: ["--root", root], at: arguments.firstIndex(of: "--") ?? arguments.count)
        return try program(BatonExecutable.path, arguments, input: input, environment: environment)
    }

    /// `baton-daemon registry ARGS`: the executable `baton artifact push/pull` execs, for the
    /// options only tests use (a small --chunk-size).
    static func registry(_ arguments: [String], root: String, environment: [String: String] = [:]) throws -> BatonExecutable.Result {
        let daemon = URL(fileURLWithPath: BatonExecutable.path).deletingLastPathComponent().appendingPathComponent("baton-daemon").path
        return try program(daemon, ["registry"] + arguments + ["--root", root], environment: environment)
    }

    static func program(_ path: String, _ arguments: [String], input: String? = nil, environment: [String: String] = [:]) throws -> BatonExecutable.Result {
        try BatonExecutable.run(arguments, executable: path, input: input, environment: environment, timeout: 120)
    }

    /// The last line of stdout (a digest).
    static func lastLine(_ result: BatonExecutable.Result) -> String {
        result.stdout.split(separator: "\n").last.map(String.init) ?? ""
    }

    /// Everything in a store that a failed pull must leave as it was: index.json and the blob names.
    static func storeListing(_ root: String) -> String {
        let index = (try? String(contentsOfFile: root + "/store/index.json", encoding: .utf8)) ?? "<no index>"
        let blobs = ((try? FileManager.default.contentsOfDirectory(atPath: root + "/store/blobs/sha256")) ?? []).sorted()
        let ingest = ((try? FileManager.default.contentsOfDirectory(atPath: root + "/store/ingest")) ?? []).sorted()
        return index + "\n" + blobs.joined(separator: "\n") + "\ningest: " + ingest.joined(separator: ",")
    }

    static var skopeo: String? { FileManager.default.isExecutableFile(atPath: "/usr/bin/skopeo") ? "/usr/bin/skopeo" : nil }
}
