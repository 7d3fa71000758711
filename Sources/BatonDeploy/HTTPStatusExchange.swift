import BatonOS
import Glibc

/// Sends one HTTP/1.1 request on a connected socket and reads only the status line: the health
/// check needs the status, not the body. Blocking, bounded by a deadline.
enum HTTPStatusExchange {
    /// A status line longer than this is not one we will wait for.
    static let maxStatusLine = 512

    static func request(path: String, host: String) -> [UInt8] {
        Array("GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: baton-health\r\nConnection: close\r\n\r\n".utf8)
    }

    static func run(fd: Int32, request: [UInt8], deadline: SocketDeadline) -> HealthResult {
        do {
            try send(request, on: fd, deadline: deadline)
            return try readStatus(from: fd, deadline: deadline)
        } catch {
            return .failed(reason: error.description)
        }
    }

    static func send(_ bytes: [UInt8], on fd: Int32, deadline: SocketDeadline) throws(OSError) {
        var sent = 0
        while sent < bytes.count {
            guard try deadline.wait(fd, for: Int32(POLLOUT)) else { throw OSError("send request", errno: ETIMEDOUT) }
            let count = bytes[sent...].withUnsafeBytes { buffer in
                Glibc.send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
            }
            if count < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw OSError("send request", errno: errno)
            }
            sent += count
        }
    }

    private static func readStatus(from fd: Int32, deadline: SocketDeadline) throws(OSError) -> HealthResult {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 256)
        while true {
            if let end = lineEnd(in: received) {
                return parseStatusLine(received[..<end])
            }
            if received.count >= maxStatusLine {
                return .failed(reason: "not an HTTP response: \(quoted(received))")
            }
            guard try deadline.wait(fd, for: Int32(POLLIN)) else {
                if received.isEmpty { return .failed(reason: "no response within the attempt timeout") }
                return .failed(reason: "incomplete status line within the attempt timeout: \(quoted(received))")
            }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw OSError("read response", errno: errno)
            }
            if count == 0 {
                if received.isEmpty { return .failed(reason: "connection closed before any response") }
                return .failed(reason: "connection closed inside the status line: \(quoted(received))")
            }
            received += chunk[..<count]
        }
    }

    private static func lineEnd(in bytes: [UInt8]) -> Int? {
        bytes.firstIndex(of: UInt8(ascii: "\n")).map { $0 > 0 && bytes[$0 - 1] == UInt8(ascii: "\r") ? $0 - 1 : $0 }
    }

    /// `HTTP/1.x NNN reason`; anything else is not HTTP.
    static func parseStatusLine(_ line: ArraySlice<UInt8>) -> HealthResult {
        let text = String(decoding: line, as: UTF8.self)
        let fields = text.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count >= 2, fields[0] == "HTTP/1.1" || fields[0] == "HTTP/1.0",
              fields[1].count == 3, fields[1].allSatisfy(\.isASCIIDigit), let status = Int(fields[1]),
              status >= 100
        else {
            return .failed(reason: "not an HTTP response: \(quoted(Array(line)))")
        }
        return .responded(status: status)
    }

    /// A short printable rendering of bytes a peer sent, for error messages.
    private static func quoted(_ bytes: [UInt8]) -> String {
        let printable = bytes.prefix(40).map { $0 >= 0x20 && $0 < 0x7f ? Character(UnicodeScalar($0)) : "." }
        return "\"" + String(printable) + (bytes.count > 40 ? "…" : "") + "\""
    }
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
