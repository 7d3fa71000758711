import NIOCore

/// Follows the frames of one direction of a WebSocket (RFC 6455 §5.2) through the bytes the
/// tunnel forwards, to know when that direction is between two frames: the only place the
/// proxy may put a frame of its own. Nothing is buffered: a frame's payload is counted down,
/// never kept, and the header being read is at most 14 bytes. A length the upstream lies about
/// (2^63 bytes, say) only keeps the stream mid-frame; the proxy then closes the connection
/// without a close frame rather than inject one into the middle of a frame.
struct WebSocketFrameTracker {
    /// Bytes of the frame header read so far (2 to 14 bytes in all).
    private var header: [UInt8] = []
    /// Payload bytes of the current frame still to come.
    private var payloadLeft: UInt64 = 0

    init() {
        header.reserveCapacity(Self.longestHeader)
    }

    static let longestHeader = 14

    /// Between two frames: no header byte read of the next, no payload byte owed to the last.
    var atBoundary: Bool { header.isEmpty && payloadLeft == 0 }

    /// Follows `bytes` and returns how many were consumed: all of them, or with
    /// `stopAtBoundary` only those up to the first frame boundary (0 when at one already).
    mutating func advance(_ bytes: ByteBufferView, stopAtBoundary: Bool = false) -> Int {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if stopAtBoundary && atBoundary { break }
            if payloadLeft > 0 {
                let available = UInt64(bytes.endIndex - index)
                let take = min(payloadLeft, available)
                payloadLeft -= take
                index += Int(take)
                continue
            }
            header.append(bytes[index])
            index += 1
            if header.count >= 2, header.count == Self.headerLength(header) {
                payloadLeft = Self.payloadLength(header)
                header.removeAll(keepingCapacity: true)
            }
        }
        return index - bytes.startIndex
    }

    /// The whole header's length, known from its second byte: 2, plus 2 or 8 bytes of extended
    /// length, plus 4 of masking key (a server must not mask, but a hostile one may).
    private static func headerLength(_ header: [UInt8]) -> Int {
        let second = header[1]
        let extended: Int
        switch second & 0x7F {
        case 126: extended = 2
        case 127: extended = 8
        default: extended = 0
        }
        return 2 + extended + (second & 0x80 != 0 ? 4 : 0)
    }

    private static func payloadLength(_ header: [UInt8]) -> UInt64 {
        let short = header[1] & 0x7F
        guard short >= 126 else { return UInt64(short) }
        let count = short == 126 ? 2 : 8
        return header[2..<(2 + count)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    /// A close frame with status 1001 (going away), unmasked as a server's frames are.
    static func goingAway(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 4)
        buffer.writeBytes([0x88, 0x02, 0x03, 0xE9])
        return buffer
    }
}
