import NIOHTTP1

/// How `baton deploy --verify` learns which sandbox answered each of its requests: the
/// daemon's load generator sends a per-daemon secret in `X-Baton-Verify`, and the proxy names
/// the target it used in the response's `X-Baton-Target`. The token header is stripped before
/// forwarding (`ForwardedHeaders.isSetByProxy`), whatever its value, so no app sees it; a
/// client without the token gets no target named, and an app's own `X-Baton-Target` is
/// replaced in the answers to the generator so green cannot claim to be blue.
public enum VerifyProbe {
    public static let tokenHeader = "x-baton-verify"
    public static let targetHeader = "x-baton-target"

    /// Whether `head` carries the proxy's token. Such a request is also not redirected to
    /// HTTPS (`--https-redirect`): the load measures the app's route, not the redirect.
    static func carriesToken(_ head: RequestHead, _ token: String?) -> Bool {
        guard let token, let sent = head.headers.first(name: tokenHeader), sent.utf8.count == token.utf8.count else { return false }
        // Compared in full, not up to the first difference: the secret is not guessable by timing.
        var difference: UInt8 = 0
        for (a, b) in zip(sent.utf8, token.utf8) { difference |= a ^ b }
        return difference == 0
    }

    /// What the response says: the target as `Target.description` prints it.
    public static func label(_ target: Target) -> String { target.description }

    static func name(_ target: String, in headers: inout HeaderFields) {
        headers.replaceOrAdd(name: targetHeader, value: target)
    }
}

extension Proxy {
    /// verify: the token that makes this proxy name the target of a response.
    public var verifyToken: String? { shared.configuration.verifyToken }
}
