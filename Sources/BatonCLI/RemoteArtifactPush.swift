import BatonControl
import BatonOS
import BatonStore
import Glibc

/// Copies an artifact from this host's store to a remote Baton's, through its daemon over ssh
/// (`baton dial-stdio`): asks which blobs the remote lacks, sends only those (each verified by
/// the remote as it arrives), then binds the name there. Versions stay immutable: the same name
/// with the same digest is a no-op, with another digest the remote refuses before any blob
/// is sent.
struct RemoteArtifactPush {
    let root: String
    let remote: RemoteHost

    func push(_ ref: String) throws {
        let store = try ArtifactStore(root: root)
        let artifact = try store.resolve(ref)
        guard let name = artifact.name else {
            throw BatonError(.invalidArgument, "\(ref) has no NAME:VERSION to bind on \(remote): push it by name")
        }
        // Host binds are granted by this host's own publish and never travel: on another host
        // the artifact would start without this host's /usr.
        guard try store.hostBindPaths(of: artifact).isEmpty else {
            throw BatonError(.invalidArgument,
                "\(name) is published on --base host (this host's own /usr and /lib): it cannot run on \(remote); publish it on a base artifact")
        }
        // Layers first and the manifest last; a layer listed twice is sent once.
        var seen: Set<Digest> = []
        let blobs = (artifact.layers + [artifact.configDescriptor, artifact.manifestDescriptor]).filter { seen.insert($0.digest).inserted }
        let client = ControlClient(remote: remote)
        let plan = try client.pushPlan(PushPlanRequest(name: name, digest: artifact.digest, blobs: blobs.map(\.digest.description)))
        let missing = Set(plan.missing)
        var sentBytes: Int64 = 0
        var sent = 0
        for blob in blobs where missing.contains(blob.digest.description) {
            try send(blob, store: store, client: client)
            sentBytes += blob.size
            sent += 1
        }
        if !plan.bound {
            _ = try client.bindPushed(PushBindRequest(name: name, digest: artifact.digest, size: artifact.manifestDescriptor.size,
                                                      mediaType: artifact.manifestDescriptor.mediaType))
        }
        Output.progress("pushed \(name) to \(remote): sent \(sent) of \(blobs.count) blobs (\(ProgressMeter.format(bytes: sentBytes)))")
        Output.result(artifact.digest)
    }

    private func send(_ blob: Descriptor, store: ArtifactStore, client: ControlClient) throws {
        guard let path = store.blobFile(blob.digest) else {
            throw BatonError(.corrupt, "blob \(blob.digest) is missing from the local store: the store is damaged")
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw OSError("open \(path)", errno: errno) }
        defer { close(fd) }
        let receipt = try client.uploadBlob(digest: blob.digest.description, file: fd, size: blob.size)
        guard receipt.digest == blob.digest.description, receipt.size == blob.size else {
            throw BatonError(.corrupt, "\(remote) stored \(receipt.digest) (\(receipt.size) bytes) for blob \(blob.digest)")
        }
    }
}
