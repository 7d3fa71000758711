import BatonTestSupport
import Foundation
@testable import BatonStore

/// OCI archives an attacker would hand over: a real artifact re-exported with its image
/// config changed (labels added), every digest recomputed so the archive is well formed.
enum ForgedImage {
    static func archive(from store: ArtifactStore, ref: String, labels: [String: String], in directory: String) throws -> String {
        let layout = directory + "/layout"
        try FileManager.default.createDirectory(atPath: layout, withIntermediateDirectories: true)
        try store.exportArchive(ref, to: directory + "/original.tar")
        try run("/bin/tar", ["-xf", directory + "/original.tar", "-C", layout])

        var index = try json(layout + "/index.json")
        var manifests = index["manifests"] as! [[String: Any]]
        let manifestPath = blob(layout, manifests[0]["digest"] as! String)
        var manifest = try json(manifestPath)
        var configDescriptor = manifest["config"] as! [String: Any]
        var config = try json(blob(layout, configDescriptor["digest"] as! String))
        var run = config["config"] as? [String: Any] ?? [:]
        var existing = run["Labels"] as? [String: String] ?? [:]
        existing.merge(labels) { $1 }
        run["Labels"] = existing
        config["config"] = run

        let configBytes = try write(config, into: layout)
        configDescriptor["digest"] = configBytes.digest
        configDescriptor["size"] = configBytes.size
        manifest["config"] = configDescriptor
        let manifestBytes = try write(manifest, into: layout)
        manifests[0]["digest"] = manifestBytes.digest
        manifests[0]["size"] = manifestBytes.size
        index["manifests"] = manifests
        try JSONSerialization.data(withJSONObject: index).write(to: URL(fileURLWithPath: layout + "/index.json"))

        let archive = directory + "/forged.tar"
        try self.run("/bin/tar", ["-cf", archive, "-C", layout, "."])
        return archive
    }

    private static func blob(_ layout: String, _ digest: String) -> String {
        layout + "/blobs/sha256/" + digest.dropFirst("sha256:".count)
    }

    private static func json(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    }

    private static func write(_ object: [String: Any], into layout: String) throws -> (digest: String, size: Int) {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        let digest = Digest.of(Array(data)).description
        try data.write(to: URL(fileURLWithPath: blob(layout, digest)))
        return (digest, data.count)
    }

    private static func run(_ program: String, _ arguments: [String]) throws {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
    }
}
