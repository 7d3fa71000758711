import BatonTestSupport
import BatonOS
import CArchive
import Foundation
import Glibc
@testable import BatonStore

let isRoot = geteuid() == 0

extension TempDir {
    /// A temp directory for one store test; `remove()` in `defer`.
    init() { self.init(prefix: "baton-store-test") }
}

/// Builds directory trees for publishing.
enum Tree {
    static func write(_ path: String, _ text: String, mode: mode_t = 0o644) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, mode)
    }

    static func mkdir(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// The sample app tree: files, a nested dir, an executable and a symlink.
    static func sample(at root: String, reversed: Bool = false, variant: String = "") throws {
        var steps: [() throws -> Void] = [
            { try write(root + "/etc/app.conf", "port=8080\n" + variant) },
            { try write(root + "/bin/app", "#!/bin/sh\necho app\n", mode: 0o755) },
            { try write(root + "/share/doc/README", "read me\n") },
            { try mkdir(root + "/var/empty") },
            { try mkdir(root + "/bin"); _ = symlink("app", root + "/bin/app-link") },
        ]
        if reversed { steps.reverse() }
        try mkdir(root)
        for step in steps { try step() }
    }

    static func listing(_ root: String) -> [String] {
        (FileManager.default.subpaths(atPath: root) ?? []).sorted()
    }
}

/// Hand-made tar archives, for layers a publisher would never write.
final class TarBuilder {
    private let archive: OpaquePointer
    let path: String

    init(path: String, gzip: Bool = false) {
        self.path = path
        archive = archive_write_new()
        archive_write_set_format_pax_restricted(archive)
        if gzip { archive_write_add_filter_gzip(archive) }
        archive_write_open_filename(archive, path)
    }

    func file(_ name: String, _ text: String, mode: UInt32 = 0o644) { add(name, kind: BT_ENTRY_FILE, mode: mode, data: Array(text.utf8)) }
    func bytes(_ name: String, _ data: [UInt8]) { add(name, kind: BT_ENTRY_FILE, mode: 0o644, data: data) }
    func directory(_ name: String) { add(name, kind: BT_ENTRY_DIRECTORY, mode: 0o755) }
    func symlink(_ name: String, to target: String) { add(name, kind: BT_ENTRY_SYMLINK, mode: 0o777, link: target) }
    func hardlink(_ name: String, to target: String) { add(name, kind: BT_ENTRY_FILE, mode: 0o644, hardlink: target) }
    func device(_ name: String, kind: bt_entry_kind = BT_ENTRY_CHAR_DEVICE) { add(name, kind: kind, mode: 0o666, rdev: (1, 3)) }

    private func add(
        _ name: String, kind: bt_entry_kind, mode: UInt32, data: [UInt8] = [], link: String? = nil,
        hardlink: String? = nil, rdev: (UInt, UInt)? = nil
    ) {
        let entry = archive_entry_new()
        defer { archive_entry_free(entry) }
        archive_entry_copy_pathname(entry, name)
        bt_entry_set_kind(entry, Int32(kind.rawValue))
        archive_entry_set_perm(entry, mode_t(mode))
        archive_entry_set_size(entry, Int64(data.count))
        if let link { archive_entry_copy_symlink(entry, link) }
        if let hardlink { archive_entry_copy_hardlink(entry, hardlink); archive_entry_set_size(entry, 0) }
        if let rdev { archive_entry_set_rdevmajor(entry, dev_t(rdev.0)); archive_entry_set_rdevminor(entry, dev_t(rdev.1)) }
        archive_write_header(archive, entry)
        if !data.isEmpty { _ = data.withUnsafeBytes { archive_write_data(archive, $0.baseAddress, $0.count) } }
    }

    func close() {
        archive_write_close(archive)
        archive_write_free(archive)
    }
}

/// Hashing for tests, through the store's own primitives.
func sha256(ofFile path: String) throws -> Digest {
    Digest.of(try FileIO.readAll(path, limit: 1 << 30))
}

/// Writes an OCI archive holding one image with `layers` (paths of layer tars) and `config`.
func makeOCIArchive(
    at path: String, layers: [(path: String, mediaType: String)], refName: String?, work: String,
    configJSON: [UInt8]? = nil
) throws {
    var descriptors: [Descriptor] = []
    var blobs: [(Digest, [UInt8])] = []
    for layer in layers {
        let bytes = try FileIO.readAll(layer.path, limit: 1 << 30)
        let digest = Digest.of(bytes)
        descriptors.append(Descriptor(mediaType: layer.mediaType, digest: digest, size: Int64(bytes.count)))
        blobs.append((digest, bytes))
    }
    let config = try configJSON ?? CanonicalJSON.encode(OCIImageConfig(ImageConfig(cmd: ["/bin/sh"]), diffIDs: descriptors.map(\.digest)))
    blobs.append((Digest.of(config), config))
    let manifest = try CanonicalJSON.encode(Manifest(
        schemaVersion: 2, mediaType: MediaType.imageManifest,
        config: Descriptor(mediaType: MediaType.imageConfig, digest: Digest.of(config), size: Int64(config.count)),
        layers: descriptors, annotations: nil))
    blobs.append((Digest.of(manifest), manifest))
    var entry = Descriptor(mediaType: MediaType.imageManifest, digest: Digest.of(manifest), size: Int64(manifest.count))
    entry.annotations = refName.map { [AnnotationKey.refName: $0] }
    let index = try CanonicalJSON.encode(ImageIndex(schemaVersion: 2, mediaType: MediaType.imageIndex, manifests: [entry], annotations: nil))
    let tar = TarBuilder(path: path)
    tar.file("oci-layout", #"{"imageLayoutVersion":"1.0.0"}"#)
    tar.bytes("index.json", index)
    for (digest, bytes) in blobs { tar.bytes("blobs/sha256/\(digest.hex)", bytes) }
    tar.close()
}

/// Every file under `root` with its size, for "nothing changed" checks.
func snapshot(_ root: String) -> [String: Int64] {
    var result: [String: Int64] = [:]
    for path in FileManager.default.subpaths(atPath: root) ?? [] {
        result[path] = FileIO.fileSize(root + "/" + path) ?? -1
    }
    return result
}

/// Runs a program, returning its exit status and output.
@discardableResult
func runProgram(_ program: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = ChildProcess()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}

func which(_ tool: String) -> String? {
    for directory in ["/usr/bin", "/usr/sbin", "/bin", "/usr/local/bin"] where FileManager.default.isExecutableFile(atPath: "\(directory)/\(tool)") {
        return "\(directory)/\(tool)"
    }
    return nil
}
