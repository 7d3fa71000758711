import BatonOS
import BatonStore
import Glibc

/// `<root>/build-cache/<key hex>`: what a build step that changes files produced, by the digest
/// of its inputs (`BuildCache.key`). An entry names a layer blob in the store, or says the step
/// changed nothing. Entries are written after their layer is stored; one whose blob `gc`
/// has since removed counts as a miss.
struct BuildCache {
    enum Result: Equatable {
        /// The step changed no file.
        case empty
        case layer(Descriptor)
    }

    let directory: String

    init(root: String) { directory = root + "/build-cache" }

    /// The key of a step: the state before it, the instruction as resolved, and (COPY) the
    /// digest of the layer its files make.
    static func key(_ parts: String...) -> Digest {
        Digest.of(Array(parts.joined(separator: "\n").utf8))
    }

    func lookup(_ key: Digest, store: ArtifactStore) -> Result? {
        let path = directory + "/" + key.hex
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { return nil }
        let words = String(decoding: buffer[0..<count], as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        if words == ["empty"] { return .empty }
        guard words.count == 3, words[0] == "layer", let digest = Digest(String(words[1])), let size = Int64(words[2]) else { return nil }
        let layer = Descriptor(mediaType: MediaType.layerTar, digest: digest, size: size)
        return store.hasBlob(layer) ? .layer(layer) : nil
    }

    /// Records `result` under `key` (atomically; a failure only costs a later rebuild).
    func record(_ key: Digest, _ result: Result) {
        let text: String
        switch result {
        case .empty: text = "empty\n"
        case .layer(let layer): text = "layer \(layer.digest) \(layer.size)\n"
        }
        if mkdir(directory, 0o700) != 0 && errno != EEXIST { return }
        let temporary = directory + "/.\(key.hex).\(UInt64.random(in: 0...UInt64.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let bytes = Array(text.utf8)
        let written = write(fd, bytes, bytes.count)
        close(fd)
        if written != bytes.count || rename(temporary, directory + "/" + key.hex) != 0 { unlink(temporary) }
    }
}
