import NIOCore
import NIOHTTP1

/// Writes an HTTP/1.1 message head (start line, headers, blank line) in one copy per string.
///
/// NIO's encoders write a head piece by piece (`writeString` per name, separator, value and
/// CRLF: some 65 buffer writes per proxied exchange, each with its own uniqueness and
/// exclusivity checks), which callgrind put at about 16k instructions per request of the
/// proxy's 134k. Here the size is summed first, the buffer grows once, and each string is a
/// single `memcpy` into it. The bytes are the same as NIO's: `NAME: VALUE\r\n` per header in
/// order, the standard reason phrase for known status codes.
enum HeadSerializer {
    /// `head` with `headers` (the encoders frame a copy of its fields) in a buffer of its size,
    /// with `room` bytes more for what may follow it in the same write.
    static func bytes(_ head: ResponseHead, headers: HeaderFields, allocator: ByteBufferAllocator, room: Int = 0) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: size(of: head, headers: headers) + room)
        write(head, headers: headers, into: &buffer)
        return buffer
    }

    static func bytes(_ head: RequestHead, headers: HeaderFields, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: size(of: head, headers: headers))
        write(head, headers: headers, into: &buffer)
        return buffer
    }

    /// Bytes of `head` on the wire; `headers`: the fields to write, when not the head's own.
    private static func size(of head: ResponseHead, headers: HeaderFields? = nil) -> Int {
        let status = head.status
        return versionSize(head.version) + 1 + digitCount(Int(status.code)) + 1 + status.reasonPhrase.utf8.count + 2
            + (headers ?? head.headers).serializedCount
    }

    private static func size(of head: RequestHead, headers: HeaderFields? = nil) -> Int {
        head.method.rawValue.utf8.count + 1 + head.uri.utf8.count + 1 + versionSize(head.version) + 2
            + (headers ?? head.headers).serializedCount
    }

    static func write(_ head: ResponseHead, headers: HeaderFields? = nil, into buffer: inout ByteBuffer) {
        let status = head.status
        let headers = headers ?? head.headers
        let size = size(of: head, headers: headers)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
            var writer = ByteWriter(raw)
            writer.version(head.version)
            writer.byte(0x20)
            writer.digits(Int(status.code))
            writer.byte(0x20)
            writer.string(status.reasonPhrase)
            writer.crlf()
            writer.headers(headers)
            return writer.finish(expecting: size)
        }
    }

    static func write(_ head: RequestHead, headers: HeaderFields? = nil, into buffer: inout ByteBuffer) {
        let headers = headers ?? head.headers
        let size = size(of: head, headers: headers)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
            var writer = ByteWriter(raw)
            writer.string(head.method.rawValue)
            writer.byte(0x20)
            writer.string(head.uri)
            writer.byte(0x20)
            writer.version(head.version)
            writer.crlf()
            writer.headers(headers)
            return writer.finish(expecting: size)
        }
    }

    /// Trailers of a chunked message: `0\r\n`, the fields, the blank line.
    static func writeLastChunk(trailers: HTTPHeaders?, into buffer: inout ByteBuffer) {
        guard let trailers, !trailers.isEmpty else {
            buffer.writeStaticString("0\r\n\r\n")
            return
        }
        let size = 3 + headersSize(trailers)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
            var writer = ByteWriter(raw)
            writer.byte(0x30)
            writer.crlf()
            writer.headers(trailers)
            return writer.finish(expecting: size)
        }
    }

    /// `HTTP/` and the two numbers with their dot.
    private static func versionSize(_ version: HTTPVersion) -> Int {
        5 + digitCount(version.major) + 1 + digitCount(version.minor)
    }

    fileprivate static func digitCount(_ value: Int) -> Int {
        var count = 1
        var rest = value / 10
        while rest > 0 {
            count += 1
            rest /= 10
        }
        return count
    }

    /// Bytes of the header lines and the blank line that ends them.
    private static func headersSize(_ headers: HTTPHeaders) -> Int {
        var size = 2
        for (name, value) in headers { size += name.utf8.count + 2 + value.utf8.count + 2 }
        return size
    }
}

/// Sequential writes into a region already known to be large enough.
private struct ByteWriter {
    let base: UnsafeMutableRawBufferPointer
    var offset = 0

    init(_ base: UnsafeMutableRawBufferPointer) { self.base = base }

    /// The bytes written, which must be exactly the size the region was asked for: a
    /// mismatch is a bug in the sizing, stopped here rather than left to write past it.
    func finish(expecting size: Int) -> Int {
        precondition(offset == size, "HTTP head sized \(size) bytes, written \(offset)")
        return offset
    }

    mutating func byte(_ value: UInt8) {
        precondition(offset < base.count, "HTTP head larger than its size")
        base[offset] = value
        offset += 1
    }

    mutating func crlf() {
        byte(0x0D)
        byte(0x0A)
    }

    mutating func string(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
            precondition(offset + bytes.count <= base.count, "HTTP head larger than its size")
            (base.baseAddress! + offset).copyMemory(from: source, byteCount: bytes.count)
            offset += bytes.count
        }
    }

    mutating func version(_ version: HTTPVersion) {
        for b in "HTTP/".utf8 { byte(b) }
        digits(version.major)
        byte(0x2E)
        digits(version.minor)
    }

    /// A non-negative number in decimal.
    mutating func digits(_ value: Int) {
        if value >= 10 { digits(value / 10) }
        byte(UInt8(48 + value % 10))
    }

    /// The header lines, copied from the bytes the fields lie in.
    mutating func headers(_ headers: HeaderFields) {
        headers.forEachField { name, value in
            bytes(name)
            byte(0x3A)
            byte(0x20)
            bytes(value)
            crlf()
        }
        crlf()
    }

    mutating func bytes(_ source: UnsafeRawBufferPointer) {
        guard let start = source.baseAddress, !source.isEmpty else { return }
        precondition(offset + source.count <= base.count, "HTTP head larger than its size")
        (base.baseAddress! + offset).copyMemory(from: start, byteCount: source.count)
        offset += source.count
    }

    mutating func headers(_ headers: HTTPHeaders) {
        for (name, value) in headers {
            string(name)
            byte(0x3A)
            byte(0x20)
            string(value)
            crlf()
        }
        crlf()
    }
}
