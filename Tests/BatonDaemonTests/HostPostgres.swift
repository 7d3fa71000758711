import BatonTestSupport
import Foundation
import Glibc

/// A PostgreSQL server of the test's own, as a user would run one for their app on the host:
/// a fresh cluster under `directory`, listening on `address:port` (the bridge's address, so
/// sandboxes reach it as host.baton.internal) with password authentication for `subnet`, and
/// on a Unix socket in `directory` for the test's own `psql`. Dies with the test process.
final class HostPostgres {
    static let binaries = "/usr/lib/postgresql/15/bin"
    let directory: String
    let port: Int
    let server = ChildProcess()

    init(directory: String, address: String, port: Int, subnet: String) throws {
        self.directory = directory
        self.port = port
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        guard chown(directory, Self.postgres.uid, Self.postgres.gid) == 0 else { throw DaemonProcessError("chown \(directory): errno \(errno)") }
        try Self.asPostgres(["\(Self.binaries)/initdb", "-D", "\(directory)/data", "-U", "postgres", "--auth-local=trust",
                             "--auth-host=scram-sha-256", "--no-sync"])
        let hba = "\(directory)/data/pg_hba.conf"
        let rules = try String(contentsOfFile: hba, encoding: .utf8) + "host all all \(subnet) scram-sha-256\n"
        try rules.write(toFile: hba, atomically: false, encoding: .utf8)
        // One setpriv for both: a change of user clears an earlier parent-death signal.
        let command = Self.postgresPrefix(dieWithTheTest: true) + [
            "\(Self.binaries)/postgres", "-D", "\(directory)/data", "-c", "listen_addresses=\(address)", "-c", "port=\(port)",
            "-c", "unix_socket_directories=\(directory)", "-c", "fsync=off",
        ]
        server.executableURL = URL(fileURLWithPath: command[0])
        server.arguments = Array(command.dropFirst())
        server.standardOutput = FileHandle.nullDevice
        server.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: Self.touch("\(directory)/server.log")))
        try TestProcessLifetime.start(server)
        for _ in 0..<200 where (try? psql("SELECT 1")) != "1" { usleep(50_000) }
        guard try psql("SELECT 1") == "1" else {
            stop()
            throw DaemonProcessError("PostgreSQL did not start: \((try? String(contentsOfFile: "\(directory)/server.log", encoding: .utf8)) ?? "")")
        }
    }

    /// A database owned by a user who logs in with `password`.
    func createDatabase(_ name: String, user: String, password: String) throws {
        _ = try psql("CREATE ROLE \(user) LOGIN PASSWORD '\(password)'")
        _ = try psql("CREATE DATABASE \(name) OWNER \(user)")
    }

    /// One statement through the Unix socket as `postgres`; the answer, unaligned.
    func psql(_ statement: String, database: String = "postgres") throws -> String {
        try Self.asPostgres(["\(Self.binaries)/psql", "-h", directory, "-p", "\(port)", "-d", database, "-XtAc", statement])
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A fast shutdown (SIGINT), so that the server gives back its shared memory; SIGKILL if
    /// it has not stopped within 10 s. Then the cluster's files go.
    func stop() {
        if server.isRunning {
            let postmaster = Int32((try? String(contentsOfFile: "\(directory)/data/postmaster.pid", encoding: .utf8))?
                .split(separator: "\n").first ?? "") ?? server.processIdentifier
            kill(postmaster, SIGINT)
            for _ in 0..<200 where server.isRunning { usleep(50_000) }
            if server.isRunning { kill(server.processIdentifier, SIGKILL) }
            server.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static let postgres: (uid: uid_t, gid: gid_t) = {
        guard let entry = getpwnam("postgres") else { return (65534, 65534) }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }()

    private static func postgresPrefix(dieWithTheTest: Bool = false) -> [String] {
        ["/usr/bin/setpriv", "--reuid=\(postgres.uid)", "--regid=\(postgres.gid)", "--clear-groups"]
            + (dieWithTheTest ? ["--pdeathsig", "KILL"] : []) + ["--"]
    }

    @discardableResult
    private static func asPostgres(_ command: [String]) throws -> String {
        let result = try BatonExecutable.run(Array(command.dropFirst()), prefix: postgresPrefix(), executable: command[0])
        guard result.status == 0 else { throw DaemonProcessError("\(command[0]) failed (\(result.status)): \(result.stderr)") }
        return result.stdout
    }

    private static func touch(_ path: String) -> String {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        chown(path, postgres.uid, postgres.gid)
        return path
    }
}
