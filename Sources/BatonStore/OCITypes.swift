/// The OCI image-spec media types the store writes and reads.
public enum MediaType {
    public static let imageIndex = "application/vnd.oci.image.index.v1+json"
    public static let imageManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let imageConfig = "application/vnd.oci.image.config.v1+json"
    /// Baton's own layers are uncompressed tar: publishing streams once (read, tar, hash, write)
    /// and no CPU goes to compression on a local disk; the layer digest is also its diff_id.
    public static let layerTar = "application/vnd.oci.image.layer.v1.tar"
    public static let layerTarGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let layerTarZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    public static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    public static let dockerLayerTar = "application/vnd.docker.image.rootfs.diff.tar"

    public static func isManifest(_ type: String?) -> Bool {
        type == imageManifest || type == dockerManifest
    }

    public static func isIndex(_ type: String?) -> Bool {
        type == imageIndex || type == dockerManifestList
    }

    public static func isLayer(_ type: String) -> Bool {
        [layerTar, layerTarGzip, layerTarZstd, dockerLayerGzip, dockerLayerTar].contains(type)
            || type.hasPrefix("application/vnd.oci.image.layer.nondistributable.v1.tar")
    }
}

/// Annotation and label keys.
public enum AnnotationKey {
    public static let refName = "org.opencontainers.image.ref.name"
    /// On a manifest: the manifest digest of the artifact it was stacked on, or `host`.
    public static let base = "org.baton.base"
    /// On a manifest: `false` when the bytes depend on the publishing host (`--base host`).
    public static let reproducible = "org.baton.reproducible"
    /// Config label: the HTTP path a health check should GET.
    public static let healthPath = "org.baton.health-path"
    /// Config label: comma-separated host directories to bind read-only at run time.
    public static let hostBinds = "org.baton.host-binds"
    /// On a store index entry: the registry image a pull came from, `registry/repo[:tag]@digest`.
    public static let source = "org.baton.source"
}

/// An OCI content descriptor.
public struct Descriptor: Codable, Hashable, Sendable {
    public var mediaType: String
    public var digest: Digest
    public var size: Int64
    public var annotations: [String: String]?
    public var platform: Platform?

    public init(mediaType: String, digest: Digest, size: Int64, annotations: [String: String]? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.annotations = annotations
    }
}

public struct Platform: Codable, Hashable, Sendable {
    public var architecture: String
    public var os: String
    public var variant: String?
}

/// `index.json` and image indexes.
struct ImageIndex: Codable, Sendable {
    var schemaVersion: Int
    var mediaType: String?
    var manifests: [Descriptor]
    var annotations: [String: String]?

    static let empty = ImageIndex(schemaVersion: 2, mediaType: MediaType.imageIndex, manifests: [], annotations: nil)
}

/// An image manifest.
struct Manifest: Codable, Sendable {
    var schemaVersion: Int
    var mediaType: String?
    var config: Descriptor
    var layers: [Descriptor]
    var annotations: [String: String]?
}
