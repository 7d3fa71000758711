import Foundation
import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import BatonProxy

/// Access-log lines are written byte by byte into a region sized for their longest form: every
/// line must still be one JSON object that reads back to exactly what the client sent (the
/// path and Host header are the client's), whatever it sent.
@Suite struct AccessLogTests {
    /// Collects what the buffer hands to the logger. Unchecked: the logger's handler must be
    /// Sendable, but every log call here runs on the test's own thread (an embedded loop).
    final class Collected: @unchecked Sendable {
        var messages: [String] = []
    }

    struct CollectingHandler: LogHandler {
        let collected: Collected
        var logLevel: Logger.Level = .info
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { collected.messages.append(event.message.description) }
    }

    static func entry(host: String, path: String, status: UInt = 200, nanoseconds: Int64 = 1_234_567) -> AccessLogBuffer.Entry {
        AccessLogBuffer.Entry(host: host, method: "GET", path: path, status: status, bytes: 612,
                              durationNanoseconds: nanoseconds, target: "127.0.0.1:8080", requestID: "abc-00000001")
    }

    @Test func hostileStringsReadBackExactlyAndEachLineIsOneObject() throws {
        let collected = Collected()
        let logger = Logger(label: "test") { _ in CollectingHandler(collected: collected) }
        let loop = EmbeddedEventLoop()
        let buffer = AccessLogBuffer(destination: .logger(logger), eventLoop: loop)
        let paths = [
            "/plain", "/quote\"and\\backslash", "/line\nbreak\r\ttab", "/ctl\u{01}\u{1f}\u{7f}", "/ünïcödé/日本",
            "/" + String(repeating: "\"", count: 3000), "", "/\"}],\"status\":999,\"x\":\"",
        ]
        for (index, path) in paths.enumerated() {
            buffer.append(Self.entry(host: "h\(index).test\"\\", path: path), timestamp: Array("2026-12-01T00:00:00.000Z".utf8))
        }
        loop.run()   // the flush scheduled for the end of the loop iteration
        #expect(collected.messages.count == 1)
        let lines = collected.messages.joined(separator: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == paths.count)
        for (index, line) in lines.enumerated() {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object["path"] as? String == paths[index])
            #expect(object["host"] as? String == "h\(index).test\"\\")
            #expect(object["status"] as? Int == 200)
            #expect(object["bytes"] as? Int == 612)
            #expect(object["request_id"] as? String == "abc-00000001")
            #expect(object["time"] as? String == "2026-12-01T00:00:00.000Z")
        }
        #expect(lines[0].contains("\"duration_ms\":1.235,"))
    }

    @Test func durationsKeepThreeDecimalsAndZeroIsZero() {
        let collected = Collected()
        let logger = Logger(label: "test") { _ in CollectingHandler(collected: collected) }
        let loop = EmbeddedEventLoop()
        let buffer = AccessLogBuffer(destination: .logger(logger), eventLoop: loop)
        for nanoseconds: Int64 in [0, 5_000, 1_000_000_000, 12_345_678_901, -1] {
            buffer.append(Self.entry(host: "a", path: "/", nanoseconds: nanoseconds), timestamp: Array("t".utf8))
        }
        buffer.flush()
        let durations = collected.messages.joined().split(separator: "\n").map { line -> String in
            let start = line.range(of: "\"duration_ms\":")!.upperBound
            return String(line[start...].prefix { $0 != "," })
        }
        #expect(durations == ["0.000", "0.005", "1000.000", "12345.679", "0.000"])
    }

    /// The daemon's destination: each batch straight to a file descriptor, every line ended by
    /// a newline, none cut or joined to another.
    @Test func aFileDescriptorGetsEachBatchAsWholeLines() throws {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        defer { close(ends[0]) }
        let loop = EmbeddedEventLoop()
        let buffer = AccessLogBuffer(destination: .fileDescriptor(ends[1]), eventLoop: loop)
        let paths = ["/a", "/line\nbreak", "/" + String(repeating: "x", count: 2000), "/ü"]
        for path in paths { buffer.append(Self.entry(host: "h", path: path), timestamp: Array("t".utf8)) }
        loop.run()
        buffer.append(Self.entry(host: "h", path: "/second-batch"), timestamp: Array("t".utf8))
        buffer.flush()
        close(ends[1])
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(ends[0], &chunk, chunk.count)
            if count <= 0 { break }
            received += chunk[0..<count]
        }
        #expect(received.last == UInt8(ascii: "\n"))
        let lines = received.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast()
        #expect(lines.map { line in
            (try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])?["path"] as? String
        } == (paths + ["/second-batch"]).map { Optional($0) })
    }

    /// A batch the destination cannot take (a full pipe here) is dropped, not kept or retried:
    /// the requests it records are not held up, and the next batch goes out alone.
    @Test func aBatchTheDescriptorCannotTakeIsDropped() throws {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        defer { close(ends[0]); close(ends[1]) }
        for end in ends { _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK) }
        let filler = [UInt8](repeating: UInt8(ascii: "z"), count: 4096)
        while write(ends[1], filler, filler.count) > 0 {}
        let loop = EmbeddedEventLoop()
        let buffer = AccessLogBuffer(destination: .fileDescriptor(ends[1]), eventLoop: loop)
        buffer.append(Self.entry(host: "h", path: "/lost"), timestamp: Array("t".utf8))
        buffer.flush()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while read(ends[0], &chunk, chunk.count) > 0 {}
        buffer.append(Self.entry(host: "h", path: "/kept"), timestamp: Array("t".utf8))
        buffer.flush()
        let count = read(ends[0], &chunk, chunk.count)
        try #require(count > 0)
        let text = String(decoding: chunk[0..<count], as: UTF8.self)
        #expect(text.hasSuffix("\n"))
        #expect(text.contains("\"path\":\"/kept\""))
        #expect(!text.contains("/lost"))
        #expect(text.split(separator: "\n").count == 1)
    }
}
