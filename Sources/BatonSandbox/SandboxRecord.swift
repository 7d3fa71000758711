import BatonOS
import FoundationEssentials
import Glibc

/// What a running sandbox leaves on disk so that others can find it: `baton exec`, and a
/// daemon adopting its sandboxes after a restart. Written once the program has started, at
/// `<root>/sandboxes/<id>/sandbox.json`.
public struct SandboxRecord: Codable, Equatable, Sendable {
    public static let fileName = "sandbox.json"

    public let id: String
    /// The sandbox's init: pid and start time, so a reused pid is never mistaken for it.
    public let initProcess: ProcessIdentity
    /// The cgroup directories, one per hierarchy used (empty when it has none).
    public let cgroupPaths: [String]
    public let userNamespace: Bool
    /// The program's environment, kept for `exec` to start from.
    public let environment: [String]
    /// The artifact the root was made from (none for `--rootfs`).
    public let artifactDigest: String?

    public init(id: String, initProcess: ProcessIdentity, cgroupPaths: [String], userNamespace: Bool, environment: [String],
                artifactDigest: String? = nil) {
        self.id = id
        self.initProcess = initProcess
        self.cgroupPaths = cgroupPaths
        self.userNamespace = userNamespace
        self.environment = environment
        self.artifactDigest = artifactDigest
    }

    /// Every sandbox under `root` whose init still runs.
    public static func allRunning(root: String) -> [SandboxRecord] {
        let ids = (try? DirectoryListing.names("\(root)/sandboxes")) ?? []
        return ids.compactMap { try? running(root: root, id: $0) }
    }

    static func path(root: String, id: String) -> String { SandboxDirectory.path(root: root, id: id) + "/" + fileName }

    func write(root: String) throws {
        let path = Self.path(root: root, id: id)
        let data = Array(json.utf8)
        let temporary = path + ".tmp"
        let fd = try sys("open \(temporary)") { open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600) }
        defer { close(fd) }
        let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == data.count else { throw OSError("write \(temporary)", errno: written < 0 ? errno : EIO) }
        try sys("rename \(temporary)") { rename(temporary, path) }
    }

    /// The record as JSON, written by hand because JSONEncoder's first use costs more than the
    /// rest of the write on the sandbox start path. The same text JSONEncoder writes with
    /// snake_case and sorted keys; `running` reads it back with JSONDecoder.
    var json: String {
        var fields = [
            "\"cgroup_paths\":" + JSONText.array(cgroupPaths),
            "\"environment\":" + JSONText.array(environment),
            "\"id\":" + JSONText.string(id),
            "\"init_process\":{\"pid\":\(initProcess.pid),\"start_time\":\(initProcess.startTime)}",
            "\"user_namespace\":\(userNamespace)",
        ]
        if let artifactDigest { fields.insert("\"artifact_digest\":" + JSONText.string(artifactDigest), at: 0) }
        return "{" + fields.joinedPlain(separator: ",") + "}"
    }

    /// The record of sandbox `id` under `root`, if it has one and its init still runs.
    public static func running(root: String, id: String) throws -> SandboxRecord {
        guard SpecValidation.isValidID(id) else {
            throw BatonError(.invalidArgument, "invalid sandbox name '\(id)'")
        }
        let path = Self.path(root: root, id: id)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BatonError(.notFound, "no running sandbox '\(id)' under \(root)")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        guard let record = try? decoder.decode(SandboxRecord.self, from: data) else {
            throw BatonError(.corrupt, "\(path) is not a sandbox record; remove the sandbox directory if the sandbox is gone")
        }
        guard record.initProcess.isAlive else {
            throw BatonError(.notFound, "sandbox '\(id)' is no longer running")
        }
        return record
    }
}
