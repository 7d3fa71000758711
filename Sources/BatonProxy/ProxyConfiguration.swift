import NIOCore

/// Timeouts and limits of the proxy; every value has the documented default (docs/proxy.md).
public struct ProxyConfiguration: Sendable {
    /// Time to establish an upstream connection (502 when refused, 504 when it runs out).
    public var connectTimeout: TimeAmount = .seconds(5)
    /// Time from sending a request upstream to receiving the response head (504).
    public var responseHeaderTimeout: TimeAmount = .seconds(30)
    /// Time a client has to send a complete request head once it has started one (or connected).
    public var clientHeaderTimeout: TimeAmount = .seconds(10)
    /// Time a client has to send a request body once its head arrived, extended by one second
    /// for every `clientBodyMinimumRate` bytes received (408, or a close once the response has
    /// started).
    public var clientBodyTimeout: TimeAmount = .seconds(30)
    /// Bytes per second a request body must average once `clientBodyTimeout` is used up.
    public var clientBodyMinimumRate: Int = 1024
    /// Time an idle keep-alive client connection stays open between requests.
    public var idleTimeout: TimeAmount = .seconds(60)
    /// Time an idle pooled upstream connection is kept.
    public var upstreamIdleTimeout: TimeAmount = .seconds(50)
    /// Largest request header block accepted (431 beyond).
    public var maxHeaderBytes: Int = 64 * 1024
    /// Largest request body accepted, nil for no cap (413 beyond).
    public var maxBodyBytes: Int? = nil
    /// Idle upstream connections kept per target and event loop.
    public var maxIdlePerTarget: Int = 256
    /// Value of X-Forwarded-Proto.
    public var forwardedProto: String = "http"
    /// verify: the secret of the daemon's own load generator (`VerifyProbe`); nil: no request
    /// learns which target answered it.
    public var verifyToken: String? = nil

    public init() {}
}
