import BatonTestSupport
import Foundation

/// Hand-made OCI archives, as an attacker (or any other tool) would hand them to
/// `baton artifact import`: one layer packed from a directory with tar, a config whose labels
/// and command the test chooses, digests from sha256sum.
enum OCIArchive {
    static func make(from rootfs: String, labels: [String: String], cmd: [String], at archive: String) throws {
        let work = archive + ".d"
        try FileManager.default.createDirectory(atPath: work + "/blobs/sha256", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let layer = work + "/layer.tar"
        try run("tar -cf '\(layer)' -C '\(rootfs)' .")
        let layerDigest = try store(file: layer, in: work)
        let config: [String: Any] = [
            "architecture": "amd64", "os": "linux",
            "config": ["Cmd": cmd, "Labels": labels, "Env": ["PATH=/bin"]],
            "rootfs": ["type": "layers", "diff_ids": [layerDigest.digest]],
        ]
        let configBlob = try store(json: config, in: work)
        let manifest: [String: Any] = [
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": ["mediaType": "application/vnd.oci.image.config.v1+json", "digest": configBlob.digest, "size": configBlob.size],
            "layers": [["mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layerDigest.digest, "size": layerDigest.size]],
        ]
        let manifestBlob = try store(json: manifest, in: work)
        let index: [String: Any] = [
            "schemaVersion": 2,
            "manifests": [["mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifestBlob.digest, "size": manifestBlob.size]],
        ]
        try JSONSerialization.data(withJSONObject: index).write(to: URL(fileURLWithPath: work + "/index.json"))
        try #"{"imageLayoutVersion":"1.0.0"}"#.write(toFile: work + "/oci-layout", atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: layer)
        try run("tar -cf '\(archive)' -C '\(work)' oci-layout index.json blobs")
    }

    private static func store(json: [String: Any], in work: String) throws -> (digest: String, size: Int) {
        let temporary = work + "/blob.json"
        try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]).write(to: URL(fileURLWithPath: temporary))
        return try store(file: temporary, in: work)
    }

    private static func store(file: String, in work: String) throws -> (digest: String, size: Int) {
        let hex = shell("sha256sum '\(file)' | cut -d' ' -f1").trimmingCharacters(in: .whitespacesAndNewlines)
        let size = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        try run("cp '\(file)' '\(work)/blobs/sha256/\(hex)'")
        return ("sha256:" + hex, size)
    }

    private static func run(_ command: String) throws {
        let output = shell(command + " 2>&1; echo status=$?")
        guard output.hasSuffix("status=0\n") else { throw CocoaError(.fileWriteUnknown, userInfo: ["output": output]) }
    }
}
