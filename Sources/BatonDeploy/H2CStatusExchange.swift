import BatonOS
import Glibc

/// The health check of an app that speaks HTTP/2 without TLS (`--upstream-protocol h2c`, a
/// gRPC server): the client preface, an empty SETTINGS frame and one GET on stream 1, then
/// frames are read only until stream 1's response HEADERS, whose first field is `:status`
/// (RFC 9113 §8.3.2). Blocking, bounded by the deadline, and by a cap on what is read: the
/// app is untrusted, and a health check needs nothing but the status.
enum H2CStatusExchange {
    /// A frame longer than this is not one a status waits behind (SETTINGS_MAX_FRAME_SIZE's
    /// default is 16 KiB).
    static let maxFrame = 16 * 1024
    /// Bytes read in all before the status must have come.
    static let maxRead = 64 * 1024

    static func request(path: String, host: String) -> [UInt8] {
        var bytes = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
        bytes += frameHeader(length: 0, type: 0x4, flags: 0, stream: 0)
        // HPACK (RFC 7541): :method GET and :scheme http from the static table, the rest as
        // literals without indexing, never Huffman-coded.
        var block: [UInt8] = [0x82, 0x86]
        block += literal(nameIndex: 4, value: path, prefix: 0x00)
        block += literal(nameIndex: 1, value: host, prefix: 0x00)
        block += literal(nameIndex: 58, value: "baton-health", prefix: 0x00)
        // END_STREAM | END_HEADERS.
        bytes += frameHeader(length: block.count, type: 0x1, flags: 0x5, stream: 1)
        return bytes + block
    }

    static func run(fd: Int32, request: [UInt8], deadline: SocketDeadline) -> HealthResult {
        do {
            try HTTPStatusExchange.send(request, on: fd, deadline: deadline)
            return try readStatus(from: fd, deadline: deadline)
        } catch {
            return .failed(reason: error.description)
        }
    }

    private static func readStatus(from fd: Int32, deadline: SocketDeadline) throws(OSError) -> HealthResult {
        var received: [UInt8] = []
        var total = 0
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            while received.count >= 9 {
                let length = Int(received[0]) << 16 | Int(received[1]) << 8 | Int(received[2])
                guard length <= maxFrame else { return .failed(reason: "HTTP/2 frame of \(length) bytes before the response") }
                guard received.count >= 9 + length else { break }
                let type = received[3]
                let flags = received[4]
                let stream = (UInt32(received[5]) << 24 | UInt32(received[6]) << 16 | UInt32(received[7]) << 8 | UInt32(received[8])) & 0x7fff_ffff
                let payload = Array(received[9..<(9 + length)])
                received.removeFirst(9 + length)
                switch (type, stream) {
                case (0x1, 1):
                    return status(inHeaders: payload, flags: flags)
                case (0x3, 1):
                    return .failed(reason: "the app reset the health check's stream (HTTP/2 error \(errorCode(payload)))")
                case (0x7, _):
                    return .failed(reason: "the app sent GOAWAY (HTTP/2 error \(errorCode(Array(payload.dropFirst(4)))))")
                default:
                    // SETTINGS, WINDOW_UPDATE, PING, …: nothing the status waits for.
                    continue
                }
            }
            guard total < maxRead else { return .failed(reason: "no HTTP/2 response within \(maxRead) bytes") }
            guard try deadline.wait(fd, for: Int32(POLLIN)) else {
                return .failed(reason: total == 0 ? "no response within the attempt timeout" : "no HTTP/2 response within the attempt timeout")
            }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw OSError("read response", errno: errno)
            }
            if count == 0 {
                return .failed(reason: total == 0 ? "connection closed before any response" : "connection closed before the HTTP/2 response")
            }
            if total == 0 && count >= 5 && chunk.starts(with: Array("HTTP/".utf8)) {
                return .failed(reason: "the app answered HTTP/1.x, not HTTP/2: is --upstream-protocol h2c right?")
            }
            total += count
            received += chunk[..<count]
        }
    }

    /// The status in a HEADERS frame's payload: its first field, after any padding, priority
    /// and dynamic table size updates.
    static func status(inHeaders payload: [UInt8], flags: UInt8) -> HealthResult {
        var block = ArraySlice(payload)
        if flags & 0x8 != 0 {
            guard let pad = block.first, Int(pad) < block.count else { return .failed(reason: "malformed HTTP/2 HEADERS") }
            block = block.dropFirst().dropLast(Int(pad))
        }
        if flags & 0x20 != 0 { block = block.dropFirst(5) }
        var reader = HPACKReader(bytes: block)
        guard let status = reader.firstStatus(), (100...999).contains(status) else {
            return .failed(reason: "HTTP/2 response without a :status first")
        }
        return .responded(status: status)
    }

    private static func errorCode(_ bytes: [UInt8]) -> UInt32 {
        guard bytes.count >= 4 else { return 0 }
        return UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
    }

    private static func frameHeader(length: Int, type: UInt8, flags: UInt8, stream: UInt32) -> [UInt8] {
        [UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff), type, flags,
         UInt8(stream >> 24 & 0x7f), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)]
    }

    /// A literal field with an indexed name, without indexing: `prefix` and a 4-bit index.
    private static func literal(nameIndex: Int, value: String, prefix: UInt8) -> [UInt8] {
        integer(nameIndex, prefixBits: 4, first: prefix) + integer(value.utf8.count, prefixBits: 7, first: 0) + Array(value.utf8)
    }

    /// An HPACK integer (RFC 7541 §5.1) in a first byte whose high bits are `first`.
    static func integer(_ value: Int, prefixBits: Int, first: UInt8) -> [UInt8] {
        let limit = (1 << prefixBits) - 1
        if value < limit { return [first | UInt8(value)] }
        var bytes = [first | UInt8(limit)]
        var rest = value - limit
        while rest >= 128 {
            bytes.append(UInt8(rest % 128 + 128))
            rest /= 128
        }
        return bytes + [UInt8(rest)]
    }
}

/// Just enough HPACK decoding to read a response's first field, `:status`: the static table's
/// status entries, and a literal status value, plain or Huffman-coded (digits only).
struct HPACKReader {
    var bytes: ArraySlice<UInt8>

    mutating func firstStatus() -> Int? {
        while let byte = bytes.first {
            if byte & 0xE0 == 0x20 {
                // A dynamic table size update: nothing to keep.
                guard integer(prefixBits: 5) != nil else { return nil }
                continue
            }
            if byte & 0x80 != 0 {
                // Indexed field: the static table's :status entries are 8-14.
                guard let index = integer(prefixBits: 7) else { return nil }
                let statuses = [8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500]
                return statuses[index]
            }
            // A literal (incremental indexing 01, without 0000, never 0001) with :status's name.
            let prefixBits = byte & 0x40 != 0 ? 6 : 4
            guard let index = integer(prefixBits: prefixBits), (8...14).contains(index) else { return nil }
            return literalStatus()
        }
        return nil
    }

    /// An HPACK integer (RFC 7541 §5.1), at most a few bytes long.
    private mutating func integer(prefixBits: Int) -> Int? {
        guard let first = bytes.popFirst() else { return nil }
        let limit = (1 << prefixBits) - 1
        var value = Int(first) & limit
        guard value == limit else { return value }
        var shift = 0
        while let next = bytes.popFirst(), shift <= 21 {
            value += Int(next & 0x7f) << shift
            if next & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }

    private mutating func literalStatus() -> Int? {
        guard let first = bytes.first else { return nil }
        let huffman = first & 0x80 != 0
        guard let length = integer(prefixBits: 7), length <= 8, bytes.count >= length else { return nil }
        let value = Array(bytes.prefix(length))
        bytes = bytes.dropFirst(length)
        let digits = huffman ? Self.huffmanDigits(value) : value
        guard let digits, digits.count == 3, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return Int(String(decoding: digits, as: UTF8.self))
    }

    /// RFC 7541 Appendix B's codes for '0'-'9': 00000-00010 (5 bits), 011001-011111 (6 bits);
    /// the rest of the last byte is padding of ones. Anything else is not a status.
    static func huffmanDigits(_ coded: [UInt8]) -> [UInt8]? {
        var bits: [UInt8] = []
        for byte in coded { for shift in (0..<8).reversed() { bits.append(byte >> UInt8(shift) & 1) } }
        var digits: [UInt8] = []
        var position = 0
        func take(_ count: Int) -> Int? {
            guard position + count <= bits.count else { return nil }
            defer { position += count }
            return bits[position..<(position + count)].reduce(0) { $0 << 1 | Int($1) }
        }
        while bits.count - position >= 5, digits.count < 3 {
            guard let five = take(5) else { return nil }
            if five <= 2 {
                digits.append(UInt8(ascii: "0") + UInt8(five))
                continue
            }
            guard let sixth = take(1) else { return nil }
            let six = five << 1 | sixth
            guard (0x19...0x1f).contains(six) else { return nil }
            digits.append(UInt8(ascii: "3") + UInt8(six - 0x19))
        }
        // What is left must be padding: fewer than 8 one bits.
        guard bits.count - position < 8, bits[position...].allSatisfy({ $0 == 1 }) else { return nil }
        return digits
    }
}
