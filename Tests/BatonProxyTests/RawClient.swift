import Foundation
import Glibc

/// A blocking TCP client that sends exact bytes, so tests can send what no HTTP library would.
final class RawClient {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int, timeout: Double = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(fd)
            throw TestFailure("connect: \(errno)")
        }
    }

    deinit { close(fd) }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { throw TestFailure("send: \(errno)") }
            offset += written
        }
    }

    /// Reads more bytes into the buffer; false on EOF or timeout.
    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count <= 0 { return false }
        buffer.append(contentsOf: chunk[0..<count])
        return true
    }

    /// True when the peer has closed (EOF) with nothing more to read.
    func isClosed() -> Bool {
        if !buffer.isEmpty { return false }
        return !fill() && buffer.isEmpty
    }

    /// True while the peer has neither closed nor reset the connection, without waiting: a
    /// peek that would block means it is open and silent.
    func isOpenNow() -> Bool {
        if !buffer.isEmpty { return true }
        var byte: UInt8 = 0
        let count = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return count > 0 || (count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    }

    func readLine() throws -> String {
        while true {
            if let index = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<index], as: UTF8.self)
                buffer.removeFirst(index + 1)
                return line.hasSuffix("\r") ? String(line.dropLast()) : line
            }
            guard fill() else { throw TestFailure("connection ended while reading a line") }
        }
    }

    func readExactly(_ count: Int) throws -> [UInt8] {
        while buffer.count < count {
            guard fill() else { throw TestFailure("connection ended after \(buffer.count) of \(count) bytes") }
        }
        let out = Array(buffer[0..<count])
        buffer.removeFirst(count)
        return out
    }

    func readSome() -> [UInt8] {
        if buffer.isEmpty { _ = fill() }
        let out = buffer
        buffer = []
        return out
    }

    /// Reads one response; `discardBody` counts body bytes without keeping them.
    func readResponse(headRequest: Bool = false, discardBody: Bool = false) throws -> RawResponse {
        var statusLine = try readLine()
        var headers: [(String, String)] = []
        func readHeaders() throws {
            headers = []
            while true {
                let line = try readLine()
                if line.isEmpty { break }
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            }
        }
        try readHeaders()
        while let code = Int(statusLine.split(separator: " ")[1]), code >= 100 && code < 200 && code != 101 {
            statusLine = try readLine()
            try readHeaders()
        }
        var response = RawResponse(status: Int(statusLine.split(separator: " ")[1]) ?? 0, headers: headers, body: [], bodyLength: 0)
        if headRequest || response.status == 204 || response.status == 304 || response.status == 101 { return response }
        if let length = response.header("content-length").flatMap({ Int($0) }) {
            var remaining = length
            while remaining > 0 {
                let take = min(remaining, 1 << 20)
                let bytes = try readExactly(take)
                if !discardBody { response.body += bytes }
                remaining -= take
            }
            response.bodyLength = length
        } else if response.header("transfer-encoding")?.lowercased() == "chunked" {
            while true {
                let sizeLine = try readLine()
                guard let size = Int(sizeLine.split(separator: ";")[0], radix: 16) else { throw TestFailure("bad chunk size \(sizeLine)") }
                if size == 0 {
                    while true {
                        let line = try readLine()
                        if line.isEmpty { break }
                        guard let colon = line.firstIndex(of: ":") else { continue }
                        response.trailers.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
                    }
                    break
                }
                var remaining = size
                while remaining > 0 {
                    let take = min(remaining, 1 << 20)
                    let bytes = try readExactly(take)
                    if !discardBody { response.body += bytes }
                    remaining -= take
                }
                response.bodyLength += size
                _ = try readLine()
            }
        } else {
            while fill() {}
            response.body = buffer
            response.bodyLength = buffer.count
            buffer = []
        }
        return response
    }
}

struct RawResponse {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]
    var bodyLength: Int
    /// The trailer section of a chunked body, names lower-cased.
    var trailers: [(String, String)] = []

    func header(_ name: String) -> String? { headers.first { $0.0 == name }?.1 }
    var text: String { String(decoding: body, as: UTF8.self) }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
