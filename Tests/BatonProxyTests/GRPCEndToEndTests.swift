import BatonProxy
import BatonTestSupport
import Foundation
import Glibc
import NIOCore
import NIOPosix
import Testing

/// A real gRPC service (python3-grpcio, `Tests/Fixtures/grpc_echo.py`) behind the proxy as an
/// h2c app: unary and bidirectional streaming calls, status and trailing metadata.
@Suite(.serialized, .enabled(if: GRPCEcho.available, "requires /usr/bin/python3 with python3-grpcio"))
struct GRPCEndToEndTests {
    /// gRPC's framing over HTTP/1.1 from the client side (as a gRPC-web style bridge would
    /// send it), to the gRPC server over h2c: the server's status arrives as trailers.
    @Test func aGRPCServerAnswersThroughTheProxy() async throws {
        try await GRPCEcho.with { proxyPort in
            let client = try RawClient(port: proxyPort, timeout: 30)
            let request = GRPCEcho.frame("ping")
            try client.send("POST /baton.test.Echo/Unary HTTP/1.1\r\nHost: grpc.test\r\nContent-Type: application/grpc\r\n"
                + "TE: trailers\r\nContent-Length: \(request.count)\r\n\r\n")
            try client.send(request)
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.header("content-type") == "application/grpc")
            #expect(response.body == GRPCEcho.frame("gnip"))
            #expect(field(response.trailers, "grpc-status") == "0", "\(response.trailers)")
            #expect(field(response.trailers, "x-trailer") == "yes")

            let failing = GRPCEcho.frame("x")
            try client.send("POST /baton.test.Echo/Fail HTTP/1.1\r\nHost: grpc.test\r\nContent-Type: application/grpc\r\n"
                + "TE: trailers\r\nContent-Length: \(failing.count)\r\n\r\n")
            try client.send(failing)
            let failed = try client.readResponse()
            let status = failed.header("grpc-status") ?? field(failed.trailers, "grpc-status")
            let message = failed.header("grpc-message") ?? field(failed.trailers, "grpc-message")
            #expect(status == "5", "NOT_FOUND: \(failed.headers) \(failed.trailers)")
            #expect(message == "no such thing")
        }
    }

    /// A bidirectional call over the same bridge: each message's reply arrives before the
    /// next message is sent, and the status closes the stream as a trailer.
    @Test func aGRPCBidiCallStreamsThroughTheProxy() async throws {
        try await GRPCEcho.with { proxyPort in
            let client = try RawClient(port: proxyPort, timeout: 30)
            try client.send("POST /baton.test.Echo/Bidi HTTP/1.1\r\nHost: grpc.test\r\nContent-Type: application/grpc\r\n"
                + "TE: trailers\r\nTransfer-Encoding: chunked\r\n\r\n")
            var trailers: [(String, String)] = []
            var headRead = false
            for message in ["a", "bb", "ccc"] {
                try client.sendChunk(GRPCEcho.frame(message))
                if !headRead {
                    let head = try client.readHead()
                    #expect(head.status == 200)
                    #expect(field(head.headers, "content-type") == "application/grpc")
                    headRead = true
                }
                let expected = GRPCEcho.frame(message.uppercased())
                var received: [UInt8] = []
                while received.count < expected.count, let chunk = try client.readChunk(trailers: &trailers) { received += chunk }
                #expect(received == expected)
            }
            try client.send("0\r\n\r\n")
            #expect(try client.readChunk(trailers: &trailers) == nil)
            #expect(field(trailers, "grpc-status") == "0", "\(trailers)")
        }
    }

    /// A gRPC client speaking HTTP/2 with prior knowledge to the plain port, through the proxy
    /// to the gRPC server over h2c. Needs the proxy's HTTP/2 client side (h2c prior knowledge
    /// on the plain listener), which issue 13's TLS-front part adds.
    @Test func aGRPCClientCallsThroughThePlainPort() async throws {
        try await GRPCEcho.with { proxyPort in
            let result = try GRPCEcho.call(address: "127.0.0.1:\(proxyPort)", authority: "grpc.test")
            #expect(result["unary"] as? String == "gnip", "\(result)")
            #expect(result["unary_code"] as? String == "OK")
            #expect(result["unary_trailer"] as? String == "yes", "trailing metadata comes through")
            #expect(result["bidi"] as? [String] == ["A", "BB", "CCC"])
            #expect(result["bidi_code"] as? String == "OK")
            #expect(result["fail_code"] as? String == "NOT_FOUND")
            #expect(result["fail_details"] as? String == "no such thing")
        }
    }
}

enum GRPCEcho {
    static var available: Bool {
        PythonFixture.available(module: "grpc")
    }

    /// One gRPC message: uncompressed, 4-byte big-endian length, the bytes.
    static func frame(_ text: String) -> [UInt8] {
        let bytes = Array(text.utf8)
        let length = UInt32(bytes.count)
        return [0, UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)] + bytes
    }

    /// Runs `body` with the gRPC server started and a proxy routing `grpc.test` to it over
    /// h2c; `body` gets the proxy's port.
    static func with(_ body: (Int) async throws -> Void) async throws {
        let server = try PythonFixture(script: "grpc_echo.py", arguments: { _ in ["serve"] })
        defer { server.stop() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let proxy = Proxy(group: group)
        do {
            let port = try await proxy.start(host: "127.0.0.1", port: 0).port!
            proxy.install(RouteTable([
                ("grpc.test", Route(app: "grpc", target: .address(host: "127.0.0.1", port: server.port),
                                    options: RouteOptions(upstreamProtocol: .h2c))),
            ]))
            try await body(port)
        } catch {
            await proxy.shutdown(gracePeriod: .milliseconds(200))
            try? await group.shutdownGracefully()
            throw error
        }
        await proxy.shutdown(gracePeriod: .milliseconds(200))
        try? await group.shutdownGracefully()
    }

    /// `grpc_echo.py call`: what came back from each method, as the client saw it.
    static func call(address: String, authority: String) throws -> [String: Any] {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: PythonFixture.python)
        process.arguments = [PythonFixture.script("grpc_echo.py"), "call", address, authority]
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // The client's own deadlines (10 s each) bound this.
        let text = output.fileHandleForReading.readDataToEndOfFile()
        let problems = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let result = (try? JSONSerialization.jsonObject(with: text)) as? [String: Any]
        else {
            throw TestFailure("grpc client failed (\(process.terminationStatus)): \(problems.suffix(1500))")
        }
        return result
    }
}
