import AsyncHTTPClient
import BatonOS
import BatonStore
import Foundation
import Glibc
import NIOCore
import NIOHTTP1

/// One blob sent to a registry as a chunked upload session (OCI distribution "chunked
/// push"): PATCH with Content-Range per chunk, then PUT ?digest=. When a chunk fails (the
/// connection drops, the registry answers an error) the upload's status is asked (GET, its
/// `Range` header) and sending resumes from what the registry holds, a few times per chunk.
struct BlobUpload {
    let session: RegistrySession
    let repository: String
    let scope: [String]
    let blob: Descriptor
    let path: String
    let chunkSize: Int
    let meter: TransferProgress
    static let retriesPerChunk = 3

    /// Sends the blob to the upload session at `location` (from POST /blobs/uploads/).
    func send(to start: String) async throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw OSError("open \(path)", errno: errno) }
        defer { close(fd) }
        var location = start
        var offset: Int64 = 0
        var failures = 0
        var chunkIndex = 0
        while offset < blob.size {
            let count = Int(min(Int64(chunkSize), blob.size - offset))
            let buffer = try Self.read(fd, path: path, offset: offset, count: count)
            chunkIndex += 1
            do {
                let fault = UploadFault.armed(chunk: chunkIndex)
                if fault == .chunkNotSent { throw BatonError(.unavailable, "test fault: chunk not sent") }
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "application/octet-stream")
                headers.add(name: "Content-Range", value: "\(offset)-\(offset + Int64(count) - 1)")
                headers.add(name: "Content-Length", value: String(count))
                let response = try await session.send(.PATCH, location, headers: headers, body: .bytes(buffer), scope: scope, seconds: 3600)
                guard response.status == .accepted else {
                    throw await RegistrySession.failure(response, "upload of \(blob.digest) (chunk at \(offset))")
                }
                await RegistrySession.drain(response)
                if fault == .replyLost { throw BatonError(.unavailable, "test fault: reply lost") }
                location = try await nextLocation(response, current: location)
                offset += Int64(count)
                meter.add(count)
                failures = 0
            } catch let error as BatonError {
                failures += 1
                guard failures <= Self.retriesPerChunk else { throw error }
                // Ask the registry what it holds and continue from there.
                let (resumed, held) = try await status(location)
                location = resumed
                if held != offset { meter.add(Int(held - offset)) }
                offset = held
            }
        }
        let separator = location.contains("?") ? "&" : "?"
        let response = try await session.send(.PUT, location + separator + "digest=\(blob.digest)", scope: scope, seconds: 600)
        guard response.status == .created else {
            throw await RegistrySession.failure(response, "completing upload of \(blob.digest)")
        }
        await RegistrySession.drain(response)
    }

    /// GET the upload's status: 204 with `Range: 0-<last byte>` (and maybe a new Location).
    private func status(_ location: String) async throws -> (String, Int64) {
        let response = try await session.send(.GET, location, scope: scope, seconds: 60)
        guard response.status == .noContent else {
            throw await RegistrySession.failure(response, "status of the upload of \(blob.digest)")
        }
        await RegistrySession.drain(response)
        let next = try await nextLocation(response, current: location)
        guard let range = response.headers.first(name: "Range") else { return (next, 0) }
        return (next, Self.bytesHeld(range))
    }

    /// `0-N` means N+1 bytes held; `0-0` is what a registry says for none (and for one byte,
    /// which a resent byte 0 then corrects).
    static func bytesHeld(_ range: String) -> Int64 {
        let parts = range.replacingOccurrences(of: "bytes=", with: "").split(separator: "-")
        guard parts.count == 2, let end = Int64(parts[1]), end > 0 else { return 0 }
        return end + 1
    }

    private func nextLocation(_ response: HTTPClientResponse, current: String) async throws -> String {
        guard let location = response.headers.first(name: "Location") else { return current }
        return try await session.resolve(location, against: current)
    }

    static func read(_ fd: Int32, path: String, offset: Int64, count: Int) throws -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        var done = 0
        while done < count {
            let got = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count - done) { target in
                let result = pread(fd, target.baseAddress, count - done, off_t(offset) + off_t(done))
                if result < 0 { throw OSError("read \(path)", errno: errno) }
                return result
            }
            guard got > 0 else { throw BatonError(.corrupt, "blob \(path) is shorter than its descriptor says") }
            done += got
        }
        return buffer
    }
}

/// Test-only faults for the resumable upload (`BATON_TEST_FAULT`): the second chunk of each
/// upload is not sent, or is sent and its reply lost, as if the connection dropped.
enum UploadFault: String {
    case chunkNotSent = "registry-chunk-not-sent"
    case replyLost = "registry-chunk-reply-lost"

    private static let armed = ProcessInfo.processInfo.environment["BATON_TEST_FAULT"].flatMap(UploadFault.init(rawValue:))

    static func armed(chunk: Int) -> UploadFault? {
        chunk == 2 ? armed : nil
    }
}
