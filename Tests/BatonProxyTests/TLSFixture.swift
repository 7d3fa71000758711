import BatonProxy
import Foundation
import NIOCore

/// A `ProxyFixture` with the HTTPS listener on too (127.0.0.1, a fresh port), serving the
/// test's own certificates; the routes are the plain fixture's. `curl` and friends reach
/// `app.test` and the rest through `--resolve`, trusting the test CA.
final class TLSFixture: Sendable {
    let plain: ProxyFixture
    let certificates: TestCertificates
    let tlsPort: Int

    var proxy: Proxy { plain.proxy }
    var backend: TestBackend { plain.backend }
    var port: Int { plain.port }

    private init(plain: ProxyFixture, certificates: TestCertificates, tlsPort: Int) {
        self.plain = plain
        self.certificates = certificates
        self.tlsPort = tlsPort
    }

    /// Runs `body` with a fresh fixture and always stops it. Without `fallback` a hello with
    /// no SNI gets no certificate.
    static func with(
        fallback: Bool = true, threads: Int = 2, configure: (inout ProxyConfiguration) -> Void = { _ in },
        _ body: (TLSFixture) async throws -> Void
    ) async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        try await ProxyFixture.with(threads: threads, configure: configure) { plain in
            let address = try await plain.proxy.startTLS(
                host: "127.0.0.1", port: 0, certificates: try certificates.serverCertificates(fallback: fallback))
            try await body(TLSFixture(plain: plain, certificates: certificates, tlsPort: address.port!))
        }
    }

    /// curl over TLS to `https://HOST:PORT/path`, `HOST` resolved to 127.0.0.1 and the test CA
    /// trusted; prints the body, then the HTTP version and status on a last line.
    func curl(_ host: String = "app.test", _ path: String = "/", _ extra: [String] = []) async throws -> CurlResult {
        let result = try await ClientTool.run(
            ["/usr/bin/curl", "-sS", "--max-time", "20", "--cacert", certificates.caFile,
             "--resolve", "\(host):\(tlsPort):127.0.0.1", "-w", "\n%{http_version} %{http_code}"]
                + extra + ["https://\(host):\(tlsPort)\(path)"])
        return CurlResult(result)
    }

    /// curl over plain TCP to the plain listener.
    func plainCurl(_ host: String = "app.test", _ path: String = "/", _ extra: [String] = []) async throws -> CurlResult {
        let result = try await ClientTool.run(
            ["/usr/bin/curl", "-sS", "--max-time", "20", "--resolve", "\(host):\(port):127.0.0.1",
             "-w", "\n%{http_version} %{http_code}"] + extra + ["http://\(host):\(port)\(path)"])
        return CurlResult(result)
    }
}

/// A curl run: exit status, body, HTTP version and status code, and what it printed on stderr.
struct CurlResult {
    let status: Int32
    let body: String
    let httpVersion: String
    let code: Int
    let errors: String

    init(_ result: ToolResult) {
        status = result.status
        errors = result.errors
        let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false)
        let last = lines.last.map(String.init) ?? ""
        body = lines.dropLast().joined(separator: "\n")
        let fields = last.split(separator: " ")
        httpVersion = fields.first.map(String.init) ?? ""
        code = fields.count > 1 ? Int(fields[1]) ?? 0 : 0
    }
}
