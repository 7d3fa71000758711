import BatonTestSupport
import Foundation
import Glibc
import Testing

/// Blue-green deploys while clients use the HTTPS listener: HTTP/1.1 keep-alive over TLS and
/// HTTP/2 with many streams per connection, through a real daemon, its local CA, real
/// sandboxes and h2load. The swap guarantee holds there as on plain HTTP: no failed request,
/// and a request in flight on blue finishes on blue.
@Suite(.serialized, .enabled(if: geteuid() == 0, "requires root"))
struct HTTPSDeploySwapTests {
    @Test func swapsUnderHTTPSAndHTTP2LoadFailNoRequest() async throws {
        let fixture = try DeployFixture(daemonArguments: ["--listen-tls", "127.0.0.1:0", "--local-ca"])
        defer { fixture.finish() }
        let temp = TempDir(prefix: "baton-https-swap")
        defer { temp.remove() }
        try fixture.publishSite("1")
        try fixture.publishSite("2")
        try fixture.baton(["deploy", "web", "site:1"])
        let port = try HTTPSEndToEndTests.httpsPort(fixture.daemon)
        let caFile = temp.sub("ca.pem")
        try fixture.baton(["cert", "ca"]).stdout.write(toFile: caFile, atomically: true, encoding: .utf8)

        // A request in flight on blue over HTTP/2 while blue is swapped out.
        let slow = Task.detached {
            try HTTPSEndToEndTests.curl(DeployFixture.host, port: port, path: "/cgi-bin/slow", caFile: caFile, http2: true)
        }
        // Long enough for curl's request to reach blue before the first swap starts.
        try await Task.sleep(for: .milliseconds(500))
        let url = "https://\(DeployFixture.host):\(port)/"
        let connect = "--connect-to=127.0.0.1:\(port)"
        // Bounded by request counts (and each by `timeout`): 8 keep-alive HTTP/1.1 connections,
        // and 2 HTTP/2 connections with 10 streams in flight on each.
        let http1 = try H2Load(["--h1", "-n", "6000", "-c", "8", connect, url], directory: temp.sub("h1"))
        let http2 = try H2Load(["-n", "8000", "-c", "2", "-m", "10", connect, url], directory: temp.sub("h2"))
        var swapsUnderLoad = 0
        var version = 2
        while http1.isRunning || http2.isRunning {
            try fixture.baton(["deploy", "web", "site:\(version)"])
            if http1.isRunning && http2.isRunning { swapsUnderLoad += 1 }
            version = 3 - version
        }
        let results = [try http1.finish(), try http2.finish()]
        let slowReply = try await slow.value

        #expect(swapsUnderLoad >= 2, "the load ended before two swaps: make it longer (\(results))")
        #expect(results[0].contains("6000 succeeded, 0 failed, 0 errored, 0 timeout"), "\(results[0])")
        #expect(results[0].contains("status codes: 6000 2xx"), "\(results[0])")
        #expect(results[1].contains("8000 succeeded, 0 failed, 0 errored, 0 timeout"), "\(results[1])")
        #expect(results[1].contains("status codes: 8000 2xx"), "\(results[1])")
        #expect(results[1].contains("Application protocol: h2"), "\(results[1])")
        #expect(slowReply.status == 0 && slowReply.body == "slow-v1\n", "\(slowReply)")
        let ps = try fixture.baton(["ps", "--json"])
        let running = try JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(running.count == 1, "one sandbox serves the app: \(ps.stdout)")
    }
}

/// h2load against the daemon, its output in a file; killed by `timeout` if it outlives 120 s.
private final class H2Load: @unchecked Sendable {
    // Set up once in init; afterwards only waited for.
    private let process = ChildProcess()
    private let output: String

    init(_ arguments: [String], directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        output = directory + "/out"
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["--signal=KILL", "120", "/usr/bin/h2load"] + arguments
        process.standardOutput = FileHandle(forWritingAtPath: output)
        process.standardError = FileHandle(forWritingAtPath: output)
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var isRunning: Bool { process.isRunning }

    func finish() throws -> String {
        process.waitUntilExit()
        return try String(contentsOfFile: output, encoding: .utf8)
    }
}
