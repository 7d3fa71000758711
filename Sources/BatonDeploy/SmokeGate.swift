import BatonOS
import Glibc

/// An app's smoke checks and how they reach green: each runs after green is healthy and before
/// the flip, on a socket made inside green's network namespace (as the proxy's connector makes
/// it) with the Host header and forwarding headers a real client's request would carry.
public struct SmokeGate: Sendable, Equatable {
    /// Empty: no gate, the swap goes from healthy straight to the flip.
    public var checks: [SmokeCheck]
    /// The Host header: the app's first host (a preview's own host).
    public var host: String
    /// X-Forwarded-Proto of the checks' requests.
    public var proto: String
    /// How long one check may take, connect to last body byte.
    public var checkTimeout: Duration

    public init(checks: [SmokeCheck] = [], host: String = "localhost", proto: String = "http", checkTimeout: Duration = .seconds(10)) {
        self.checks = checks
        self.host = host
        self.proto = proto
        self.checkTimeout = checkTimeout
    }

    /// The Host a gate sends for an app with `hosts`: the first that names one host; for an app
    /// with only wildcards (`*.preview.example.com`), the first with `smoke` for the `*`.
    public static func host(for hosts: [String]) -> String {
        if let plain = hosts.first(where: { !$0.contains("*") }) { return plain }
        return hosts.first.map { $0.replacingEach(of: "*", with: "smoke") } ?? "localhost"
    }

    /// Runs the checks in order against 127.0.0.1:`port` in `network`, stopping at the first
    /// that fails; nil when all passed, else the failing check and what green answered. Blocks
    /// a helper thread, never the cooperative pool.
    func firstFailure(port: Int, in network: NetworkNamespace) async -> String? {
        let gate = self
        return await DetachedThread.run {
            for (index, check) in gate.checks.enumerated() {
                if let why = gate.run(check, number: index + 1, port: port, network: network) {
                    return "smoke check \(index + 1) of \(gate.checks.count) '\(check)' failed: \(why)"
                }
            }
            return nil
        }
    }

    /// One check; nil when it passed.
    private func run(_ check: SmokeCheck, number: Int, port: Int, network: NetworkNamespace) -> String? {
        let deadline = SocketDeadline(after: checkTimeout)
        let fd: Int32
        do {
            fd = try LoopbackConnector.connect(port: port, in: network, deadline: deadline)
        } catch {
            return error.description
        }
        defer { close(fd) }
        let request = SmokeExchange.request(check, host: host, proto: proto, requestID: "baton-smoke-\(number)-\(UInt32.random(in: .min ... .max))")
        do {
            let response = try SmokeExchange.run(fd: fd, request: request, isHead: check.method == "HEAD", deadline: deadline)
            return SmokeReport.mismatch(check, response)
        } catch {
            return error.reason
        }
    }
}

private extension String {
    func replacingEach(of target: Character, with replacement: String) -> String {
        var out = ""
        for character in self {
            if character == target { out += replacement } else { out.append(character) }
        }
        return out
    }
}
