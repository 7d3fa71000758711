import BatonOS
import BatonTestSupport
import Foundation
import Glibc

/// `Tests/Fixtures/h2c_server.py` (python3-h2), an HTTP/2-without-TLS upstream whose paths
/// choose its behaviour (see the script), and the stats it keeps. With `isolated` it runs in
/// a network namespace of its own (`unshare --net`), reachable only as a sandbox target is:
/// by a socket made inside that namespace.
final class H2CServer: Sendable {
    let server: PythonFixture
    var port: Int { server.port }
    /// The namespace it listens in, when isolated.
    let namespace: NetworkNamespace?

    struct Stats: Decodable {
        var connections: Int
        var open: Int
        var maxConcurrent: Int
        var requests: [String: Int]
        var sinkBeforeRelease: Int
        var sent: Int
        var resets: Int
    }

    static var available: Bool { PythonFixture.available(module: "h2") }

    init(maxStreams: Int? = nil, isolated: Bool = false) throws {
        let wrapper = isolated ? ["/usr/bin/unshare", "--net", "--", "/bin/sh", "-c", "ip link set lo up && exec \"$@\"", "sh"] : []
        server = try PythonFixture(script: "h2c_server.py", arguments: { directory in
            [directory + "/stats.json"] + (maxStreams.map { ["--max-streams", String($0)] } ?? [])
        }, wrapper: wrapper)
        guard isolated else {
            namespace = nil
            return
        }
        // unshare and sh exec into python: the pid is the server's.
        do {
            guard let identity = ProcessIdentity.of(pid: server.pid) else { throw TestFailure("h2c_server.py exited") }
            namespace = try NetworkNamespace.of(try ProcessHandle.attach(to: identity))
        } catch {
            server.stop()
            throw error
        }
    }

    var stats: Stats {
        get throws {
            let data = try Data(contentsOf: URL(fileURLWithPath: server.directory + "/stats.json"))
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            return try decoder.decode(Stats.self, from: data)
        }
    }

    func stop() { server.stop() }

    /// Runs `body` with a fresh server and always stops it.
    static func with<T>(maxStreams: Int? = nil, isolated: Bool = false, _ body: (H2CServer) async throws -> T) async throws -> T {
        let server = try H2CServer(maxStreams: maxStreams, isolated: isolated)
        do {
            let result = try await body(server)
            server.stop()
            return result
        } catch {
            server.stop()
            throw error
        }
    }
}
