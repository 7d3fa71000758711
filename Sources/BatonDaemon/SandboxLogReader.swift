import BatonControl
import BatonOS
import BatonSandbox
import Foundation
import Glibc

/// Reads a sandbox's log for `GET /v1/sandboxes/ID/log` (`baton --host … logs`): the files the
/// sandbox's init writes under `<root>/logs/ID`, at most `maxChunk` bytes per reply.
struct SandboxLogReader: Sendable {
    let root: String
    static let maxChunk = 4 << 20

    func read(id: String, offset: Int64?) async throws -> LogChunk {
        // A sandbox id is letters, digits and '-': nothing that walks out of logs/.
        guard !id.isEmpty, id.count <= 128, id.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) || $0 == 45 || $0 == 95 }) else {
            throw BatonError(.invalidArgument, "'\(id.prefix(80))' is not a sandbox id")
        }
        let log = SandboxLog(directory: SandboxLog.directory(root: root, id: id))
        guard access(log.path, F_OK) == 0 else {
            throw BatonError(.notFound, "no logs for \(id): see 'baton ps --all'")
        }
        return try await DetachedThread.run {
            var data = Data()
            var start = offset ?? 0
            if offset == nil { data = Self.bytes(log.rotatedPath, from: 0, limit: Self.maxChunk) }
            let size = Self.size(log.path)
            if start > size { start = 0 }  // rotated since: the new file from its start
            let current = Self.bytes(log.path, from: start, limit: Self.maxChunk - data.count)
            data.append(current)
            let next = start + Int64(current.count)
            return LogChunk(data: data, next: next, more: next < Self.size(log.path))
        }
    }

    private static func size(_ path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : 0
    }

    private static func bytes(_ path: String, from offset: Int64, limit: Int) -> Data {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0, limit > 0 else {
            if fd >= 0 { close(fd) }
            return Data()
        }
        defer { close(fd) }
        var result = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        var position = offset
        while result.count < limit {
            let count = pread(fd, &buffer, min(buffer.count, limit - result.count), off_t(position))
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            result.append(contentsOf: buffer[..<count])
            position += Int64(count)
        }
        return result
    }
}
