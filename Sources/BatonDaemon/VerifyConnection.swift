import BatonOS
import BatonProxy
import Foundation
import Glibc

/// One keep-alive HTTP/1.1 connection of `--verify`'s load generator to the daemon's own proxy
/// listener: real TCP, blocking, each exchange bounded by a deadline. It reads each response
/// whole (Content-Length, chunked or close-delimited) so the next request can follow on the
/// same connection, keeping only the status and the target the proxy named.
final class VerifyConnection {
    /// Where to connect: an IPv4 or IPv6 address and port.
    struct Endpoint: Sendable {
        let ip: String
        let port: Int
    }

    /// What one exchange got: a status and the target that answered, or why there was no response.
    enum Outcome {
        case responded(status: Int, target: String?)
        case failed(String)
    }

    static let maxHead = 64 * 1024
    /// A body past this is not read to its end: the connection is closed after it instead.
    static let maxBody = 4 * 1024 * 1024

    private var fd: Int32 = -1
    private var buffer: [UInt8] = []
    let endpoint: Endpoint

    init(endpoint: Endpoint) {
        self.endpoint = endpoint
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// Sends `request` (a complete head) and reads its response, connecting first when needed.
    func exchange(_ request: [UInt8], timeout: Duration) -> Outcome {
        let deadline = ContinuousClock.now + timeout
        do throws(OSError) {
            if fd < 0 { try connect(deadline: deadline) }
            try send(request, deadline: deadline)
            return try readResponse(deadline: deadline)
        } catch {
            drop()
            return .failed(error.description)
        }
    }

    private func drop() {
        if fd >= 0 { close(fd) }
        fd = -1
        buffer.removeAll(keepingCapacity: true)
    }

    private func connect(deadline: ContinuousClock.Instant) throws(OSError) {
        let v6 = endpoint.ip.contains(":")
        let socketFD = try sys("socket") { socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0) }
        fd = socketFD
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        try TCPConnect.connect(fd, ip: endpoint.ip, port: endpoint.port, deadline: SocketDeadline(at: deadline))
    }

    private func wait(for events: Int32, until deadline: ContinuousClock.Instant) throws(OSError) -> Bool {
        try SocketDeadline(at: deadline).wait(fd, for: events)
    }

    private func send(_ bytes: [UInt8], deadline: ContinuousClock.Instant) throws(OSError) {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0 {
                guard errno == EAGAIN || errno == EINTR else { throw OSError("send request", errno: errno) }
                guard try wait(for: POLLOUT, until: deadline) else { throw OSError("send request", errno: ETIMEDOUT) }
                continue
            }
            sent += count
        }
    }

    /// Reads more into `buffer`; false at the end of the stream.
    private func fill(deadline: ContinuousClock.Instant) throws(OSError) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                buffer += chunk[..<count]
                return true
            }
            if count == 0 { return false }
            guard errno == EAGAIN || errno == EINTR else { throw OSError("read response", errno: errno) }
            guard try wait(for: POLLIN, until: deadline) else { throw OSError("read response", errno: ETIMEDOUT) }
        }
    }

    private func readResponse(deadline: ContinuousClock.Instant) throws(OSError) -> Outcome {
        var headEnd: Int?
        while headEnd == nil {
            headEnd = Self.find([13, 10, 13, 10], in: buffer)
            if headEnd != nil { break }
            guard buffer.count < Self.maxHead else { throw OSError("read response head", errno: EMSGSIZE) }
            guard try fill(deadline: deadline) else { throw OSError("read response (connection closed)", errno: ECONNRESET) }
        }
        let head = ResponseHead(String(decoding: buffer[..<headEnd!], as: UTF8.self))
        buffer.removeFirst(headEnd! + 4)
        guard let status = head.status else { throw OSError("read response (not HTTP)", errno: EPROTO) }
        let keep = try readBody(head, deadline: deadline)
        if !keep || head.close { drop() }
        return .responded(status: status, target: head.target)
    }

    /// Reads and discards the body; false when the connection cannot carry another request.
    private func readBody(_ head: ResponseHead, deadline: ContinuousClock.Instant) throws(OSError) -> Bool {
        if head.status == 204 || head.status == 304 || (head.status ?? 0) < 200 { return true }
        if head.chunked {
            var total = 0
            while true {
                guard let lineEnd = try line(deadline: deadline) else { return false }
                let sizeText = String(decoding: buffer[..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
                    throw OSError("read chunk size", errno: EPROTO)
                }
                buffer.removeFirst(lineEnd + 2)
                if size == 0 {
                    // Trailers, up to the empty line.
                    while let end = try line(deadline: deadline) {
                        buffer.removeFirst(end + 2)
                        if end == 0 { return true }
                    }
                    return false
                }
                total += size
                guard total <= Self.maxBody else { return false }
                try skip(size + 2, deadline: deadline)
            }
        }
        if let length = head.contentLength {
            guard length <= Self.maxBody else { return false }
            try skip(length, deadline: deadline)
            return true
        }
        // Close-delimited: read to the end, then the connection is done.
        while buffer.count <= Self.maxBody, try fill(deadline: deadline) { buffer.removeAll(keepingCapacity: true) }
        return false
    }

    /// The index of the next CRLF in `buffer`, reading more as needed; nil at the end of the stream.
    private func line(deadline: ContinuousClock.Instant) throws(OSError) -> Int? {
        while true {
            if let end = Self.find([13, 10], in: buffer) { return end }
            guard buffer.count < Self.maxHead else { throw OSError("read chunk line", errno: EMSGSIZE) }
            guard try fill(deadline: deadline) else { return nil }
        }
    }

    private func skip(_ count: Int, deadline: ContinuousClock.Instant) throws(OSError) {
        var left = count
        while true {
            let taken = min(left, buffer.count)
            buffer.removeFirst(taken)
            left -= taken
            if left == 0 { return }
            guard try fill(deadline: deadline) else { throw OSError("read response body (connection closed)", errno: ECONNRESET) }
        }
    }

    private static func find(_ pattern: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= pattern.count else { return nil }
        for index in 0...(bytes.count - pattern.count) where bytes[index] == pattern[0] {
            if bytes[index..<index + pattern.count].elementsEqual(pattern) { return index }
        }
        return nil
    }
}

/// The few fields of a response head the generator needs.
private struct ResponseHead {
    var status: Int?
    var contentLength: Int?
    var chunked = false
    var close = false
    var target: String?

    init(_ text: String) {
        let lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
        if let first = lines.first {
            let fields = first.split(separator: " ", maxSplits: 2)
            if fields.count >= 2, fields[0].hasPrefix("HTTP/1."), fields[1].count == 3 { status = Int(fields[1]) }
            if fields.first == "HTTP/1.0" { close = true }
        }
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch name {
            case "content-length": contentLength = Int(value)
            case "transfer-encoding": chunked = value.lowercased().hasSuffix("chunked")
            case "connection": close = value.lowercased().contains("close")
            case VerifyProbe.targetHeader: target = value
            default: break
            }
        }
    }
}
