import BatonOS
import Logging
import NIOCore

/// One JSON line per request: time, host, method, path, status, bytes, duration, target and
/// request id. Each event loop formats lines straight into bytes and hands them to the logger in
/// one batch per loop iteration, so a busy proxy makes one log call (one write) per batch, not
/// one per request. Nothing is formatted when the logger would drop it.
struct AccessLog: Sendable {
    let logger: Logger?

    var enabled: Bool {
        guard let logger else { return false }
        return logger.logLevel <= .info
    }
}

/// The access-log lines of one event loop not yet handed to the logger. Touched only from its loop.
final class AccessLogBuffer {
    private let logger: Logger?
    private let eventLoop: any EventLoop
    /// Lines not yet handed to the logger, separated by newlines.
    private var pending: ByteBuffer
    private var flushScheduled = false
    /// Past this many bytes the batch goes out at once rather than at the end of the iteration.
    private static let flushThreshold = 64 * 1024

    init(logger: Logger?, eventLoop: any EventLoop) {
        self.logger = logger
        self.eventLoop = eventLoop
        pending = ByteBufferAllocator().buffer(capacity: 4096)
    }

    struct Entry {
        var host: String
        var method: String
        var path: String
        var status: UInt
        var bytes: Int
        var durationNanoseconds: Int64
        var target: String
        var requestID: String
    }

    /// Appends the line for `entry`, stamped `timestamp` (RFC 3339 bytes, see `LoopContext`).
    /// The line's largest possible size is reserved first and it is written into that region
    /// byte by byte: appending piece by piece to an array cost ~4k instructions a line.
    func append(_ entry: Entry, timestamp: [UInt8]) {
        let separator = pending.readableBytes > 0 ? 1 : 0
        let bound = separator + Self.maximumSize(entry, timestamp: timestamp)
        pending.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { raw in
            var line = LineWriter(raw)
            if separator == 1 { line.byte(UInt8(ascii: "\n")) }
            Self.format(entry, timestamp: timestamp, into: &line)
            return line.offset
        }
        if pending.readableBytes >= Self.flushThreshold {
            flush()
        } else if !flushScheduled {
            flushScheduled = true
            eventLoop.assumeIsolated().execute { [self] in flush() }
        }
    }

    /// The fixed text and numbers, plus each string at its longest escaped (`\u00XX`, six
    /// bytes for one).
    private static func maximumSize(_ entry: Entry, timestamp: [UInt8]) -> Int {
        let strings = entry.host.utf8.count + entry.method.utf8.count + entry.path.utf8.count + entry.target.utf8.count
            + entry.requestID.utf8.count
        return 160 + timestamp.count + 6 * strings
    }

    private static func format(_ entry: Entry, timestamp: [UInt8], into out: inout LineWriter) {
        out.literal("{\"time\":\"")
        out.bytes(timestamp)
        out.literal("\",\"host\":")
        out.json(entry.host)
        out.literal(",\"method\":")
        out.json(entry.method)
        out.literal(",\"path\":")
        out.json(entry.path)
        out.literal(",\"status\":")
        out.decimal(UInt64(entry.status))
        out.literal(",\"bytes\":")
        out.decimal(UInt64(max(entry.bytes, 0)))
        out.literal(",\"duration_ms\":")
        let micros = UInt64(max(entry.durationNanoseconds, 0) + 500) / 1000
        out.decimal(micros / 1000)
        out.byte(UInt8(ascii: "."))
        out.decimal(micros % 1000, width: 3)
        out.literal(",\"target\":")
        out.json(entry.target)
        out.literal(",\"request_id\":")
        out.json(entry.requestID)
        out.byte(UInt8(ascii: "}"))
    }

    /// Hands every pending line to the logger as one message (lines joined by newlines).
    func flush() {
        flushScheduled = false
        guard pending.readableBytes > 0 else { return }
        let text = String(buffer: pending)
        pending.clear()
        logger?.info(Logger.Message(stringLiteral: text), source: "baton.access")
    }
}

/// Sequential writes of one access-log line into a region sized for its longest form; each
/// write is checked against the region's end all the same.
private struct LineWriter {
    let base: UnsafeMutableRawBufferPointer
    private(set) var offset = 0

    init(_ base: UnsafeMutableRawBufferPointer) { self.base = base }

    mutating func byte(_ value: UInt8) {
        precondition(offset < base.count, "access log line larger than its bound")
        base[offset] = value
        offset += 1
    }

    mutating func literal(_ text: StaticString) {
        bytes(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    mutating func bytes(_ source: UnsafeBufferPointer<UInt8>) {
        guard let start = source.baseAddress, !source.isEmpty else { return }
        precondition(offset + source.count <= base.count, "access log line larger than its bound")
        (base.baseAddress! + offset).copyMemory(from: start, byteCount: source.count)
        offset += source.count
    }

    mutating func bytes(_ source: [UInt8]) {
        source.withUnsafeBufferPointer { bytes($0) }
    }

    /// `value` as a JSON string literal (BatonOS's `JSONText.escape`).
    mutating func json(_ value: String) {
        byte(UInt8(ascii: "\""))
        JSONText.escape(value) { bytes($0) }
        byte(UInt8(ascii: "\""))
    }

    /// A non-negative number in decimal, zero-padded to `width` digits.
    mutating func decimal(_ value: UInt64, width: Int = 1) {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        for _ in digits..<max(width, digits) { byte(UInt8(ascii: "0")) }
        precondition(offset + digits <= base.count, "access log line larger than its bound")
        var remaining = value
        for position in stride(from: offset + digits - 1, through: offset, by: -1) {
            base[position] = UInt8(ascii: "0") + UInt8(remaining % 10)
            remaining /= 10
        }
        offset += digits
    }
}
