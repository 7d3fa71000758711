import BatonOS
import Glibc
import Logging
import NIOCore

/// Where the access log's lines go.
public enum AccessLogDestination: Sendable {
    /// Straight to a file descriptor (the daemon's stdout), each batch of whole lines in one
    /// write(2): no String, log event or handler per batch.
    case fileDescriptor(Int32)
    /// To a logger, each batch as one message (its lines joined by newlines).
    case logger(Logger)
}

/// One JSON line per request: time, host, method, path, status, bytes, duration, target and
/// request id. Each event loop formats lines straight into bytes and hands them on in one
/// batch per loop iteration, so a busy proxy makes one write per batch, not one per request.
/// Nothing is formatted when the destination would drop it.
struct AccessLog: Sendable {
    let destination: AccessLogDestination?
    /// Decided once: a logger's level is read through its handler, which cost every request.
    let enabled: Bool

    init(_ destination: AccessLogDestination?) {
        self.destination = destination
        switch destination {
        case .none: enabled = false
        case .fileDescriptor: enabled = true
        case .logger(let logger): enabled = logger.logLevel <= .info
        }
    }
}

/// The access-log lines of one event loop not yet handed on. Touched only from its loop.
final class AccessLogBuffer {
    private let destination: AccessLogDestination?
    private let eventLoop: any EventLoop
    /// Lines not yet handed on, each ended by a newline.
    private var pending: ByteBuffer
    private var flushScheduled = false
    /// Past this many bytes the batch goes out at once rather than at the end of the iteration.
    private static let flushThreshold = 64 * 1024

    init(destination: AccessLogDestination?, eventLoop: any EventLoop) {
        self.destination = destination
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
        let bound = Self.maximumSize(entry, timestamp: timestamp) + 1
        pending.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { raw in
            var line = LineWriter(raw)
            Self.format(entry, timestamp: timestamp, into: &line)
            line.byte(UInt8(ascii: "\n"))
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

    /// Hands every pending line on: to the file descriptor in one write, or to the logger as
    /// one message without the last newline (a log handler ends each message itself).
    func flush() {
        flushScheduled = false
        guard pending.readableBytes > 0 else { return }
        switch destination {
        case .fileDescriptor(let fd):
            pending.withUnsafeReadableBytes { Self.write($0, to: fd) }
        case .logger(let logger):
            let text = String(decoding: pending.readableBytesView.dropLast(), as: UTF8.self)
            logger.info(Logger.Message(stringLiteral: text), source: "baton.access")
        case .none:
            break
        }
        pending.clear()
    }

    /// Writes all of `bytes`, retrying when interrupted. A failed write drops the rest of the
    /// batch: the access log never holds up or fails the requests it records.
    private static func write(_ bytes: UnsafeRawBufferPointer, to fd: Int32) {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(fd, base + offset, bytes.count - offset)
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            offset += written
        }
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
