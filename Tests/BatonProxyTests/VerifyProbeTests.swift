@testable import BatonProxy
import Testing

/// `baton deploy --verify`'s token: only a request that carries the proxy's secret learns which
/// target answered it, and no app ever sees the secret.
@Suite(.serialized) struct VerifyProbeTests {
    static let token = "0123456789abcdef0123456789abcdef"

    /// Sends one request with `extra` header lines; returns the response and what the backend got.
    func exchange(_ extra: String) async throws -> (RawResponse, RecordedRequest) {
        var result: (RawResponse, RecordedRequest)?
        try await ProxyFixture.with(configure: { $0.verifyToken = Self.token }) { fixture in
            let client = try fixture.client()
            try client.send("GET /who HTTP/1.1\r\nHost: app.test\r\n\(extra)\r\n")
            let response = try client.readResponse()
            #expect(response.status == 200)
            if let seen = fixture.backend.log.requests.first { result = (response, seen) }
            #expect(response.header(VerifyProbe.targetHeader).map { $0 == fixture.backendTarget.description } ?? true)
        }
        return try #require(result)
    }

    @Test func theTokenMakesTheProxyNameTheTargetAndNeverReachesTheApp() async throws {
        let (response, seen) = try await exchange("X-Baton-Verify: \(Self.token)\r\n")
        #expect(response.header(VerifyProbe.targetHeader) != nil)
        #expect(seen.header(VerifyProbe.tokenHeader) == nil)
    }

    @Test func aClientWithoutTheTokenLearnsNothingAndTheAppSeesNoGuess() async throws {
        for guess in ["X-Baton-Verify: \(Self.token.dropLast())0\r\n", "X-Baton-Verify: x\r\n", "x_baton_verify: \(Self.token.uppercased())\r\n", ""] {
            let (response, seen) = try await exchange(guess)
            #expect(response.header(VerifyProbe.targetHeader) == nil, "\(guess)")
            #expect(!seen.headers.contains { $0.0.lowercased().replacingOccurrences(of: "_", with: "-") == VerifyProbe.tokenHeader }, "\(guess)")
        }
    }

    /// An app with `--https-redirect`: clients are sent to HTTPS, the verify load reaches the app.
    @Test func theVerifyLoadIsNotRedirectedToHTTPSButOtherClientsAre() async throws {
        try await ProxyFixture.with(configure: { $0.verifyToken = Self.token }) { fixture in
            fixture.proxy.shared.httpsListening(on: 8443)
            fixture.proxy.install(RouteTable([("app.test", Route(app: "app", target: fixture.backendTarget,
                                                                   options: RouteOptions(httpsRedirect: true)))]))
            let client = try fixture.client()
            try client.send("GET /who HTTP/1.1\r\nHost: app.test\r\n\r\n")
            #expect(try client.readResponse().status == 308)
            try client.send("GET /who HTTP/1.1\r\nHost: app.test\r\nX-Baton-Verify: \(Self.token)\r\n\r\n")
            let verified = try client.readResponse()
            #expect(verified.status == 200 && verified.header(VerifyProbe.targetHeader) == fixture.backendTarget.description)
        }
    }

    @Test func withoutATokenConfiguredNoRequestLearnsItsTarget() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            try client.send("GET /who HTTP/1.1\r\nHost: app.test\r\nX-Baton-Verify: \r\n\r\n")
            #expect(try client.readResponse().header(VerifyProbe.targetHeader) == nil)
        }
    }
}
