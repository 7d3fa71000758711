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
    private var pending: [UInt8] = []
    private var flushScheduled = false
    /// Past this many bytes the batch goes out at once rather than at the end of the iteration.
    private static let flushThreshold = 64 * 1024

    init(logger: Logger?, eventLoop: any EventLoop) {
        self.logger = logger
        self.eventLoop = eventLoop
        pending.reserveCapacity(4096)
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
    func append(_ entry: Entry, timestamp: [UInt8]) {
        // Formatting into a local array keeps exclusivity checks of the stored property off
        // every byte appended.
        var line = pending
        pending = []
        Self.format(entry, timestamp: timestamp, into: &line)
        pending = line
        if pending.count >= Self.flushThreshold {
            flush()
        } else if !flushScheduled {
            flushScheduled = true
            eventLoop.assumeIsolated().execute { [self] in flush() }
        }
    }

    private static func format(_ entry: Entry, timestamp: [UInt8], into out: inout [UInt8]) {
        if !out.isEmpty { out.append(UInt8(ascii: "\n")) }
        append("{\"time\":\"", to: &out)
        out.append(contentsOf: timestamp)
        append("\",\"host\":", to: &out)
        JSONText.append(entry.host, to: &out)
        append(",\"method\":", to: &out)
        JSONText.append(entry.method, to: &out)
        append(",\"path\":", to: &out)
        JSONText.append(entry.path, to: &out)
        append(",\"status\":", to: &out)
        appendDecimal(UInt64(entry.status), to: &out)
        append(",\"bytes\":", to: &out)
        appendDecimal(UInt64(max(entry.bytes, 0)), to: &out)
        append(",\"duration_ms\":", to: &out)
        let micros = UInt64(max(entry.durationNanoseconds, 0) + 500) / 1000
        appendDecimal(micros / 1000, to: &out)
        out.append(UInt8(ascii: "."))
        appendDecimal(micros % 1000, width: 3, to: &out)
        append(",\"target\":", to: &out)
        JSONText.append(entry.target, to: &out)
        append(",\"request_id\":", to: &out)
        JSONText.append(entry.requestID, to: &out)
        out.append(UInt8(ascii: "}"))
    }

    /// Hands every pending line to the logger as one message (lines joined by newlines).
    func flush() {
        flushScheduled = false
        guard !pending.isEmpty else { return }
        let text = String(decoding: pending, as: UTF8.self)
        pending.removeAll(keepingCapacity: true)
        logger?.info(Logger.Message(stringLiteral: text), source: "baton.access")
    }

    private static func append(_ literal: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    private static func appendDecimal(_ value: UInt64, width: Int = 1, to out: inout [UInt8]) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
            UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[19 - count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            } while rest > 0 || count < width
            out.append(contentsOf: buffer[(20 - count)...])
        }
    }
}
