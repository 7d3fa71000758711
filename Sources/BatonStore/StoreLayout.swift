import BatonOS
import Glibc

/// Where things live under `$BATON_ROOT`:
/// `store/` is an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/<hex>`) plus
/// `store/ingest/` for blobs being written; `layers/<hex>` are unpacked layers.
struct StoreLayout: Sendable {
    let root: String
    let store: String
    let blobs: String
    let ingest: String
    let index: String
    let layers: String

    init(root: String) {
        let root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        self.root = root
        store = root + "/store"
        blobs = store + "/blobs/sha256"
        ingest = store + "/ingest"
        index = store + "/index.json"
        layers = root + "/layers"
    }

    func blobPath(_ digest: Digest) -> String { "\(blobs)/\(digest.hex)" }

    func layerPath(_ digest: Digest) -> String { "\(layers)/\(digest.hex)" }

    var exists: Bool { FileIO.exists(index) }

    /// Creates the layout if it is not there. Each file appears by an atomic rename, so a
    /// crash here leaves either no store or a valid empty one.
    func create() throws {
        try StateRoot.prepare(root)
        if FileIO.exists(index) && PathName.isDirectory(ingest) && PathName.isDirectory(layers) { return }
        try FileIO.makeDirectories(blobs)
        try FileIO.makeDirectories(ingest)
        try FileIO.makeDirectories(layers)
        let layoutFile = store + "/oci-layout"
        try FileIO.createAtomically(Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8), at: layoutFile)
        try FileIO.createAtomically(try CanonicalJSON.encode(ImageIndex.empty), at: index)
    }
}
