import BatonControl
import BatonOS
import BatonStore
import Dispatch
import Foundation
import NIOCore

/// One `PUT /v1/blobs/DIGEST` (a blob of `baton artifact push … ssh://`) on its way into the
/// store: the body's pieces are hashed and written to the store's ingest area as they arrive,
/// never held whole in memory, and the blob enters the store only if it hashes to DIGEST and
/// has the announced size. Disk writes and hashing run on a serial queue of the upload's own,
/// off the event loop (which the proxy shares); `ControlHandler` stops reading from the
/// client while pieces are waiting here.
final class BlobUpload: @unchecked Sendable {
    // Sendable by confinement: `receiver` and `failure` are touched only on `queue`.
    private let queue = DispatchQueue(label: "baton.blob-upload")
    private var receiver: BlobReceiver?
    private var failure: BatonError?
    let digest: String

    init(root: String, digest: String, size: Int64) {
        self.digest = digest
        queue.async { [self] in
            do {
                receiver = try ArtifactStore(root: root).receiveBlob(digest: digest, size: size)
            } catch {
                failure = Self.batonError(error)
            }
        }
    }

    /// Writes `buffer`, then calls `done` (from the queue). After a failure pieces are dropped;
    /// the failure is the reply.
    func write(_ buffer: ByteBuffer, done: @escaping @Sendable () -> Void) {
        queue.async { [self] in
            if failure == nil, let receiver {
                do {
                    try buffer.withUnsafeReadableBytes { try receiver.write($0) }
                } catch {
                    failure = Self.batonError(error)
                    self.receiver = nil
                }
            }
            done()
        }
    }

    /// Verifies and stores the blob once every piece is written; `completion` gets the reply.
    func finish(_ completion: @escaping @Sendable (ControlReply) -> Void) {
        queue.async { [self] in
            defer { receiver = nil }
            if let failure { return completion(ControlRouter.error(failure)) }
            guard let receiver else { return completion(ControlRouter.error(BatonError(.internal, "blob \(digest): no receiver"))) }
            do {
                let added = try receiver.finish()
                let receipt = BlobReceipt(digest: receiver.digest.description, size: receiver.received, added: added)
                completion(try ControlRouter.json(201, receipt))
            } catch {
                completion(ControlRouter.error(Self.batonError(error)))
            }
        }
    }

    /// The client went away mid-blob: what was written is removed, the store is unchanged.
    func cancel() {
        queue.async { [self] in receiver = nil }
    }

    private static func batonError(_ error: any Error) -> BatonError {
        if let error = error as? BatonError { return error }
        return BatonError(.internal, "receiving a blob: \(error)")
    }
}
