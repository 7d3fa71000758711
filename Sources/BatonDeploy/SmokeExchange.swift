import BatonOS
import Glibc

/// One smoke check's HTTP/1.1 exchange on a connected socket: the request the proxy would
/// send (the app's Host, the proxy's forwarding headers, `Connection: close`), and a bounded
/// read of the response. Green's answer is artifact-controlled: the head and the body kept are
/// capped, and everything is bounded by the deadline. Blocking: run it on a helper thread.
enum SmokeExchange {
    /// The response head (status line and headers) may be at most this long.
    static let maxHead = 16 * 1024
    /// The body bytes kept and searched for `contains`; the rest is not read.
    static let maxBody = 64 * 1024

    /// What green answered.
    struct Response: Equatable {
        let status: Int
        /// The body's first `maxBody` bytes, de-chunked.
        let body: [UInt8]
    }

    /// The request bytes for `check`, as the proxy forwards a client's request to `host`.
    static func request(_ check: SmokeCheck, host: String, proto: String, requestID: String) -> [UInt8] {
        var head = "\(check.method) \(check.path) HTTP/1.1\r\n"
        head += "Host: \(host)\r\nUser-Agent: baton-smoke\r\nAccept: */*\r\n"
        // What ForwardedHeaders adds for a client on the host itself.
        head += "X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: \(proto)\r\nX-Forwarded-Host: \(host)\r\n"
        head += "X-Real-IP: 127.0.0.1\r\nForwarded: for=127.0.0.1;proto=\(proto);host=\(host)\r\nX-Request-Id: \(requestID)\r\n"
        head += "Connection: close\r\n"
        var body: [UInt8] = []
        if let given = check.body {
            body = Array(given.text.utf8)
            head += "Content-Type: \(given.isJSON ? "application/json" : "text/plain; charset=utf-8")\r\n"
        }
        if check.body != nil || ["POST", "PUT", "PATCH"].contains(check.method) {
            head += "Content-Length: \(body.count)\r\n"
        }
        return Array((head + "\r\n").utf8) + body
    }

    /// Sends `request` and reads the response; throws why there is none.
    static func run(fd: Int32, request: [UInt8], isHead: Bool, deadline: SocketDeadline) throws(SmokeExchangeError) -> Response {
        do {
            try HTTPStatusExchange.send(request, on: fd, deadline: deadline)
        } catch {
            throw SmokeExchangeError(error.description)
        }
        var reader = Reader(fd: fd, deadline: deadline)
        let (status, headers) = try reader.head()
        if isHead || (100..<200).contains(status) || status == 204 || status == 304 {
            return Response(status: status, body: [])
        }
        let body: [UInt8]
        if headers.chunked {
            body = try reader.chunkedBody()
        } else if let length = headers.contentLength {
            body = try reader.bytes(min(length, maxBody), closeEnds: false)
        } else {
            body = try reader.bytes(maxBody, closeEnds: true)
        }
        return Response(status: status, body: body)
    }

    /// Reads from the socket into a buffer, never holding more than the head or body bounds need.
    private struct Reader {
        let fd: Int32
        let deadline: SocketDeadline
        var buffer: [UInt8] = []
        var closed = false

        init(fd: Int32, deadline: SocketDeadline) {
            self.fd = fd
            self.deadline = deadline
        }

        /// Reads more; false once the peer closed.
        mutating func fill() throws(SmokeExchangeError) -> Bool {
            guard !closed else { return false }
            var chunk = [UInt8](repeating: 0, count: 16 * 1024)
            while true {
                let ready: Bool
                do { ready = try deadline.wait(fd, for: Int32(POLLIN)) } catch { throw SmokeExchangeError(error.description) }
                guard ready else { throw SmokeExchangeError("no complete response within the check's timeout") }
                let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if count < 0 {
                    if errno == EAGAIN || errno == EINTR { continue }
                    throw SmokeExchangeError(OSError("read response", errno: errno).description)
                }
                if count == 0 {
                    closed = true
                    return false
                }
                buffer += chunk[..<count]
                return true
            }
        }

        mutating func head() throws(SmokeExchangeError) -> (Int, (chunked: Bool, contentLength: Int?)) {
            let end: Int
            while true {
                if let found = Self.headEnd(buffer) {
                    end = found
                    break
                }
                guard buffer.count <= maxHead else { throw SmokeExchangeError("response head longer than \(maxHead) bytes") }
                guard try fill() else {
                    throw SmokeExchangeError(buffer.isEmpty ? "connection closed before any response"
                                                            : "connection closed inside the response head: \(SmokeReport.quoted(buffer))")
                }
            }
            guard end <= maxHead else { throw SmokeExchangeError("response head longer than \(maxHead) bytes") }
            let lines = String(decoding: buffer[..<end], as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
            buffer.removeFirst(end + 4)
            guard case .responded(let status) = HTTPStatusExchange.parseStatusLine(ArraySlice((lines.first ?? "").utf8)) else {
                throw SmokeExchangeError("not an HTTP response: \(SmokeReport.quoted(Array((lines.first ?? "").utf8)))")
            }
            var chunked = false
            var length: Int?
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let name = line[..<colon].lowercased()
                let value = line[line.index(after: colon)...].trimmedOf(" \t").lowercased()
                if name == "transfer-encoding" { chunked = value.hasSuffix("chunked") }
                if name == "content-length" {
                    guard let number = Int(value), number >= 0 else { throw SmokeExchangeError("bad Content-Length \(SmokeReport.quoted(Array(value.utf8)))") }
                    length = number
                }
            }
            return (status, (chunked, length))
        }

        /// Up to `count` body bytes; with `closeEnds`, the peer's close ends the body early.
        mutating func bytes(_ count: Int, closeEnds: Bool) throws(SmokeExchangeError) -> [UInt8] {
            while buffer.count < count {
                guard try fill() else {
                    if closeEnds { break }
                    throw SmokeExchangeError("connection closed inside the body (\(buffer.count) of \(count) bytes)")
                }
            }
            return Array(buffer.prefix(count))
        }

        /// The payload of a chunked body, up to `maxBody` bytes.
        mutating func chunkedBody() throws(SmokeExchangeError) -> [UInt8] {
            var payload: [UInt8] = []
            while payload.count < maxBody {
                guard let lineEnd = try line() else { throw SmokeExchangeError("chunk size line longer than 1 KiB") }
                let sizeText = String(decoding: buffer[..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeText.trimmedOf(" \t"), radix: 16), size >= 0 else {
                    throw SmokeExchangeError("bad chunk size \(SmokeReport.quoted(Array(buffer[..<lineEnd])))")
                }
                buffer.removeFirst(lineEnd + 2)
                if size == 0 { break }
                let wanted = min(size, maxBody - payload.count)
                payload += try bytes(wanted, closeEnds: false)
                if wanted < size { break }
                buffer.removeFirst(wanted)
                _ = try bytes(2, closeEnds: false)
                buffer.removeFirst(2)
            }
            return payload
        }

        /// The index of the next CRLF in the buffer, reading up to 1 KiB for it; nil past that.
        mutating func line() throws(SmokeExchangeError) -> Int? {
            while true {
                if let index = buffer.indices.first(where: { buffer[$0] == 0x0d && $0 + 1 < buffer.count && buffer[$0 + 1] == 0x0a }) {
                    return index
                }
                guard buffer.count <= 1024 else { return nil }
                guard try fill() else { throw SmokeExchangeError("connection closed inside a chunked body") }
            }
        }

        static func headEnd(_ bytes: [UInt8]) -> Int? {
            guard bytes.count >= 4 else { return nil }
            for index in 0...(bytes.count - 4)
            where bytes[index] == 0x0d && bytes[index + 1] == 0x0a && bytes[index + 2] == 0x0d && bytes[index + 3] == 0x0a {
                return index
            }
            return nil
        }
    }
}

/// Why a smoke check got no response.
struct SmokeExchangeError: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

private extension StringProtocol {
    func trimmedOf(_ set: String) -> String {
        let drop = Set(set.unicodeScalars)
        let scalars = Array(unicodeScalars)
        guard let first = scalars.firstIndex(where: { !drop.contains($0) }),
              let last = scalars.lastIndex(where: { !drop.contains($0) })
        else { return "" }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars[first...last])
        return String(out)
    }
}
