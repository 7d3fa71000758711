/// How a client reached the proxy: over TLS or plain TCP, as an HTTP/1.x connection or as one
/// stream of an HTTP/2 connection. Fixed per connection (per stream), so the forwarding headers
/// name the scheme the client really used, whatever the configuration says.
struct ClientConnection: Sendable {
    /// The connection is TLS (the HTTPS listener).
    let secure: Bool
    /// One HTTP/2 stream (one request) rather than an HTTP/1.x connection.
    let http2: Bool

    static let plainHTTP1 = ClientConnection(secure: false, http2: false)

    /// X-Forwarded-Proto and Forwarded's `proto=`: `https` over TLS, else the configured value
    /// (`http` unless the operator says otherwise).
    func forwardedProto(_ configuration: ProxyConfiguration) -> String {
        secure ? "https" : configuration.forwardedProto
    }
}
