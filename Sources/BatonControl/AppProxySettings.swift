/// How the proxy speaks to an app (`--upstream-protocol`): HTTP/1.1, or HTTP/2 without TLS
/// by prior knowledge (h2c), which gRPC servers speak. Mirrors the proxy's own
/// `UpstreamProtocol`, which this module cannot see (the CLI links no NIO).
public enum AppUpstreamProtocol: String, Codable, Sendable, CaseIterable {
    case http1
    case h2c

    /// `http1 or h2c`, for error messages.
    public static let choices = allCases.map(\.rawValue).joined(separator: " or ")
}

extension AppSpec {
    /// `--https-redirect`, `--hsts` and `--upstream-protocol` as an app stores them: the spec's
    /// value, or the default (off, off, http1) when it leaves one out.
    public var storedProxySettings: (httpsRedirect: Bool, hsts: Bool, upstreamProtocol: AppUpstreamProtocol) {
        (httpsRedirect ?? false, hsts ?? false, upstreamProtocol ?? .http1)
    }

    /// Takes the proxy settings `app` has now, for a spec that replaces its settings whole.
    public mutating func keepProxySettings(of app: AppInfo) {
        httpsRedirect = app.httpsRedirect
        hsts = app.hsts
        upstreamProtocol = app.upstreamProtocol
    }
}
