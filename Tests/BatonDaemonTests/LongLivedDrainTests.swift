import BatonTestSupport
import Foundation
import Glibc
import Testing

/// WebSockets and server-sent event streams open on blue across a real swap: they outlive the
/// drain timeout of ordinary requests (blue still answers them after it), none ends before the
/// long drain timeout, and at it each WebSocket gets a close frame 1001 and each event stream
/// its clean end; the deployment records how many were open and who ended them.
@Suite(.serialized, .enabled(if: geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"), "requires root and python3"))
struct LongLivedDrainTests {
    static let host = "live.test"
    static let drainTimeout = 1.0
    static let longTimeout = 3.0

    /// `live:VERSION`: Tests/Fixtures/longlived_server.py on the host's python3.
    static func publish(_ fixture: DeployFixture, version: Int) throws {
        let source = "\(fixture.root)/src/live\(version)"
        try FileManager.default.createDirectory(atPath: source + "/app", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: PythonFixture.script("longlived_server.py"), toPath: source + "/app/server.py")
        try fixture.baton(["artifact", "publish", "live:\(version)", source, "--base", "host", "--port", "8000",
                           "--health-path", "/health", "--cmd", "/usr/bin/python3 /app/server.py \(version) 8000"])
    }

    @Test func fiftyWebSocketsAndEventStreamsOutliveTheDrainTimeoutAndEndCleanlyAtTheLongOne() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try Self.publish(fixture, version: 1)
        try Self.publish(fixture, version: 2)
        try fixture.baton(["app", "create", "live", "--host", Self.host, "--network", "none",
                           "--drain-timeout", "\(Self.drainTimeout)", "--drain-long-timeout", "\(Self.longTimeout)"])
        // A bad value is one error line and creates nothing; `app set` keeps the setting when not given.
        let refused = try fixture.baton(["app", "create", "bad", "--host", "bad.test", "--drain-long-timeout", "0"], allowFailure: true)
        #expect(refused.status != 0)
        #expect(refused.stderr.hasPrefix("error: ") && refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        #expect(try fixture.baton(["app", "inspect", "bad"], allowFailure: true).status != 0)
        try fixture.baton(["app", "set", "live", "--hsts"])
        let inspected = try JSONSerialization.jsonObject(with: Data(try fixture.baton(["app", "inspect", "live", "--json"]).stdout.utf8))
        #expect((inspected as? [String: Any])?["drain_long_timeout"] as? Double == Self.longTimeout, "\(inspected)")
        try fixture.baton(["deploy", "live", "live:1"])

        let (webSockets, streams, clientCloses) = (50, 5, 5)
        let client = try LongLivedClient(port: fixture.daemon.port, host: Self.host, webSockets: webSockets, streams: streams,
                                         closes: clientCloses)
        defer { client.stop() }
        let deployed = try fixture.baton(["deploy", "live", "live:2", "--json"])
        let summary = try client.summary()
        let record = try #require(try JSONSerialization.jsonObject(with: Data(deployed.stdout.utf8)) as? [String: Any])
        #expect(record["outcome"] as? String == "succeeded", "\(record)")
        let phases = record["phases"] as? [[String: Any]] ?? []
        let routedText = try #require(phases.first { $0["phase"] as? String == "routed" }?["completed_at"] as? String)
        let routed = try #require(ISO8601Timestamp.seconds(routedText))
        // Timestamps on record have milliseconds: a connection ended at the long timeout may
        // read up to a millisecond early against them.
        let slack = 0.002

        #expect(summary["first"] as? String == "v1")
        let sockets = summary["websockets"] as? [[String: Any]] ?? []
        #expect(sockets.count == webSockets)
        for (index, socket) in sockets.enumerated() where socket["closed_by_client"] as? Bool != true {
            // Blue still echoed after the drain timeout of ordinary requests had passed...
            #expect(socket["last_version"] as? String == "v1", "websocket \(index): \(socket)")
            #expect((socket["last_answer"] as? Double ?? 0) >= routed + Self.drainTimeout, "websocket \(index): \(socket)")
            // ...and the socket ended with a close frame 1001, not before the long timeout.
            #expect(socket["end"] as? String == "close", "websocket \(index): \(socket)")
            #expect(socket["close_code"] as? Int == 1001, "websocket \(index): \(socket)")
            #expect((socket["ended_at"] as? Double ?? 0) >= routed + Self.longTimeout - slack, "websocket \(index): \(socket)")
        }
        #expect(sockets.filter { $0["closed_by_client"] as? Bool == true }.count == clientCloses)
        let events = summary["event_streams"] as? [[String: Any]] ?? []
        #expect(events.count == streams)
        for (index, stream) in events.enumerated() {
            #expect(stream["last_version"] as? String == "v1", "stream \(index): \(stream)")
            #expect((stream["last_event"] as? Double ?? 0) >= routed + Self.drainTimeout, "stream \(index): \(stream)")
            #expect(stream["end"] as? String == "clean", "stream \(index): \(stream)")
            #expect((stream["ended_at"] as? Double ?? 0) >= routed + Self.longTimeout - slack, "stream \(index): \(stream)")
        }

        // Figures for the record (no assertion on speed): when the connections ended after the flip.
        let ends = (sockets.filter { $0["closed_by_client"] as? Bool != true } + events).compactMap { $0["ended_at"] as? Double }
        if let first = ends.min(), let last = ends.max() {
            print("long-lived: \(ends.count) ended by Baton between \(first - routed) s and \(last - routed) s after the flip (long timeout \(Self.longTimeout) s)")
        }

        // The record counts them, in the deploy's answer and in the history alike.
        let expected: [String: Int] = ["open": webSockets + streams, "closed_by_client": clientCloses, "closed_by_app": 0,
                                       "closed_by_baton": webSockets + streams - clientCloses]
        #expect(record["long_lived"] as? [String: Int] == expected, "\(record)")
        let history = try JSONSerialization.jsonObject(with: Data(try fixture.baton(["history", "live", "--json"]).stdout.utf8))
        let stored = (history as? [[String: Any]])?.first { $0["id"] as? Int == record["id"] as? Int }
        #expect(stored?["long_lived"] as? [String: Int] == expected, "\(String(describing: stored))")
        // New connections reach green.
        #expect(HTTPGet.fetch(port: fixture.daemon.port, host: Self.host, path: "/")?.body == "v2\n")
    }
}

/// Tests/Fixtures/longlived_client.py, run as a child: opens the connections, watches them
/// across the swap, and prints one JSON summary once each has ended.
final class LongLivedClient {
    private let process = ChildProcess()
    private let input = Pipe()
    private let output = Pipe()

    /// `waitingForFlip` false: the connections are followed to their end without a swap.
    init(port: Int, host: String, webSockets: Int, streams: Int, closes: Int, waitingForFlip: Bool = true) throws {
        process.executableURL = URL(fileURLWithPath: PythonFixture.python)
        process.arguments = [PythonFixture.script("longlived_client.py"), String(port), host, String(webSockets), String(streams),
                             String(closes)] + (waitingForFlip ? [] : ["no-flip"])
        process.standardInput = input
        process.standardOutput = output
        try TestProcessLifetime.start(process)
        let ready = readLine()
        guard ready == "ready" else {
            stop()
            throw DaemonProcessError("the long-lived client did not open its connections: \(ready)")
        }
    }

    /// The summary line, once every connection has ended.
    func summary() throws -> [String: Any] {
        let line = readLine()
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw DaemonProcessError("the long-lived client gave no summary: \(line)")
        }
        return object
    }

    private func readLine() -> String {
        var line: [UInt8] = []
        while line.last != UInt8(ascii: "\n") {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty { break }
            line += byte
        }
        return String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func stop() {
        try? input.fileHandleForWriting.close()
        let deadline = ContinuousClock.now + .seconds(5)
        while process.isRunning, ContinuousClock.now < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// Seconds since 1970 of a timestamp on record (`2026-11-30T21:32:18.123Z`).
enum ISO8601Timestamp {
    static func seconds(_ text: String) -> Double? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)?.timeIntervalSince1970
    }
}
