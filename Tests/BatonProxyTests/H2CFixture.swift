import BatonProxy
import Foundation
import Glibc
import NIOCore
import NIOPosix

/// A proxy on 127.0.0.1 routing `grpc.test` to an `H2CServer` over h2c (and `plain.test` to
/// the same server over HTTP/1.1, which it does not speak).
final class H2CFixture: Sendable {
    let server: H2CServer
    let proxy: Proxy
    let group: MultiThreadedEventLoopGroup
    let port: Int
    let target: Target

    init(server: H2CServer, threads: Int, configure: (inout ProxyConfiguration) -> Void) async throws {
        self.server = server
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        var configuration = ProxyConfiguration()
        configure(&configuration)
        proxy = Proxy(configuration: configuration, group: group)
        port = try await proxy.start(host: "127.0.0.1", port: 0).port!
        if let namespace = server.namespace {
            target = .sandbox(namespace, port: server.port)
        } else {
            target = .address(host: "127.0.0.1", port: server.port)
        }
        proxy.install(RouteTable([
            ("grpc.test", Route(app: "grpc", target: target, options: RouteOptions(upstreamProtocol: .h2c))),
            ("plain.test", Route(app: "plain", target: target)),
        ]))
    }

    func client(timeout: Double = 30) throws -> RawClient { try RawClient(port: port, timeout: timeout) }

    func stop() async {
        await proxy.shutdown(gracePeriod: .milliseconds(200))
        try? await group.shutdownGracefully()
    }

    /// Runs `body` with a fresh server and proxy and always stops both.
    static func with(
        maxStreams: Int? = nil, isolated: Bool = false, threads: Int = 2,
        configure: (inout ProxyConfiguration) -> Void = { _ in },
        _ body: (H2CFixture) async throws -> Void
    ) async throws {
        try await H2CServer.with(maxStreams: maxStreams, isolated: isolated) { server in
            let fixture = try await H2CFixture(server: server, threads: threads, configure: configure)
            do {
                try await body(fixture)
            } catch {
                await fixture.stop()
                throw error
            }
            await fixture.stop()
        }
    }

    /// Polls the server's stats until `condition` holds (or 10 s pass); the last stats read.
    func stats(until condition: (H2CServer.Stats) -> Bool) async throws -> H2CServer.Stats {
        var last = try server.stats
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition(last), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            last = try server.stats
        }
        return last
    }
}

extension RawClient {
    /// A response's status and head fields, the body left to read.
    func readHead() throws -> (status: Int, headers: [(String, String)]) {
        let statusLine = try readLine()
        var headers: [(String, String)] = []
        while true {
            let line = try readLine()
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let parts = statusLine.split(separator: " ")
        return (parts.count > 1 ? Int(parts[1]) ?? 0 : 0, headers)
    }

    /// The next chunk of a chunked body, or nil at the last chunk, whose trailer section is
    /// then in `trailers`.
    func readChunk(trailers: inout [(String, String)]) throws -> [UInt8]? {
        let sizeLine = try readLine()
        guard let size = Int(sizeLine.split(separator: ";").first ?? "", radix: 16) else {
            throw TestFailure("bad chunk size '\(sizeLine)'")
        }
        if size == 0 {
            while true {
                let line = try readLine()
                if line.isEmpty { break }
                guard let colon = line.firstIndex(of: ":") else { continue }
                trailers.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            }
            return nil
        }
        let bytes = try readExactly(size)
        _ = try readLine()
        return bytes
    }

    /// One chunk of a chunked request body.
    func sendChunk(_ text: String) throws {
        try sendChunk(Array(text.utf8))
    }

    func sendChunk(_ bytes: [UInt8]) throws {
        try send(Array((String(bytes.count, radix: 16) + "\r\n").utf8) + bytes + Array("\r\n".utf8))
    }
}

/// A value of `fields` by lower-case name.
func field(_ fields: [(String, String)], _ name: String) -> String? {
    fields.first { $0.0 == name }?.1
}
