@testable import BatonProxy
import Foundation
import NIOHTTP1
import Testing

/// Per-app `--https-redirect` and `--hsts`: a plain request is sent to HTTPS with a 308, and
/// Strict-Transport-Security goes out only over TLS (RFC 6797 §7.2).
@Suite(.serialized) struct HTTPSRedirectTests {
    static func routes(_ fixture: ProxyFixture, options: RouteOptions) -> RouteTable {
        RouteTable([
            ("app.test", Route(app: "app", target: fixture.backendTarget, options: options)),
            ("*.wild.test", Route(app: "plain", target: fixture.backendTarget)),
        ])
    }

    @Test func aPlainRequestIsRedirectedWith308ToTheSameURLOverHTTPS() async throws {
        try await TLSFixture.with { fixture in
            fixture.proxy.install(Self.routes(fixture.plain, options: RouteOptions(httpsRedirect: true)))
            let client = try fixture.plain.client()
            try client.send("POST /form?a=1&b=2 HTTP/1.1\r\nHost: App.Test:\(fixture.port)\r\nContent-Length: 5\r\n\r\nhello")
            let response = try client.readResponse()
            #expect(response.status == 308)
            #expect(response.header("location") == "https://app.test:\(fixture.tlsPort)/form?a=1&b=2")
            // The connection goes on: the body was read and dropped, nothing reached the app.
            try client.send("GET /other HTTP/1.1\r\nHost: a.wild.test\r\n\r\n")
            #expect(try client.readResponse().text == "hello /other")
            #expect(fixture.backend.log.uris == ["/other"])
            // Over HTTPS the app is served; curl follows the redirect there.
            #expect(try await fixture.curl("app.test", "/form").code == 200)
            let followed = try await ClientTool.run(
                ["/usr/bin/curl", "-sS", "--max-time", "20", "-L", "--cacert", fixture.certificates.caFile,
                 "--resolve", "app.test:\(fixture.port):127.0.0.1", "--resolve", "app.test:\(fixture.tlsPort):127.0.0.1",
                 "http://app.test:\(fixture.port)/followed"])
            #expect(followed.output == "hello /followed", "\(followed.all)")
            #expect(fixture.backend.log.requests.last?.headers("x-forwarded-proto") == ["https"])
        }
    }

    @Test func withoutAnHTTPSListenerTheAppIsServedOverPlainHTTP() async throws {
        try await ProxyFixture.with { fixture in
            fixture.proxy.install(Self.routes(fixture, options: RouteOptions(httpsRedirect: true)))
            let client = try fixture.client()
            try client.send("GET /x HTTP/1.1\r\nHost: app.test\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.header("location") == nil)
        }
    }

    @Test func hstsIsSentOverTLSOnlyAndNeverInPlaceOfTheAppsOwn() async throws {
        try await TLSFixture.with { fixture in
            fixture.proxy.install(Self.routes(fixture.plain, options: RouteOptions(hsts: true)))
            for version in ["--http1.1", "--http2"] {
                let secure = try await fixture.curl("app.test", "/x", [version, "-D", "-"])
                #expect(secure.code == 200)
                #expect(secure.body.lowercased().contains("strict-transport-security: max-age=31536000"), "\(secure.body)")
                // An app without --hsts gets none.
                let other = try await fixture.curl("a.wild.test", "/x", [version, "-D", "-"])
                #expect(other.code == 200)
                #expect(!other.body.lowercased().contains("strict-transport-security"))
            }
            let plain = try await fixture.plainCurl("app.test", "/x", ["-D", "-"])
            #expect(plain.code == 200)
            #expect(!plain.body.lowercased().contains("strict-transport-security"), "never over plain HTTP")
        }
        // An app that sets its own keeps it, alone.
        let own = HTTPResponseHead(version: .http1_1, status: .ok, headers: ["Strict-Transport-Security": "max-age=60"])
        for version in [HTTPVersion.http1_1, HTTPVersion(major: 2, minor: 0)] {
            let sent = ForwardedHeaders.clientResponse(ResponseHead(own), clientVersion: version, keepAlive: true, upgrade: false, hsts: true)
            #expect(sent.head.headers["strict-transport-security"] == ["max-age=60"])
        }
    }

    @Test func theRedirectLeavesOutPort443() async throws {
        // Port 443 may be taken on the test machine: the rule is tried on the URL builder.
        #expect(HTTPSRedirectURL.make(host: "app.test", port: 443, uri: "/a?b") == "https://app.test/a?b")
        #expect(HTTPSRedirectURL.make(host: "app.test", port: 8443, uri: "/") == "https://app.test:8443/")
        #expect(HTTPSRedirectURL.make(host: "[::1]", port: 8443, uri: "*") == "https://[::1]:8443/")
    }
}
