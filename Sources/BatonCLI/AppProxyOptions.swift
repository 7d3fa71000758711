import ArgumentParser
import BatonControl

/// `--https-redirect`, `--hsts` and `--upstream-protocol http1|h2c`: how the proxy serves an
/// app. Only what is given changes a spec, so `app set` takes them too, and `--no-…` turns a
/// setting off again.
struct AppProxyOptions: ParsableArguments {
    @Flag(inversion: .prefixedNo, help: "Answer plain HTTP requests with 308 to the same URL over https.")
    var httpsRedirect: Bool?

    @Flag(inversion: .prefixedNo, help: "Send Strict-Transport-Security on HTTPS responses.")
    var hsts: Bool?

    @Option(help: ArgumentHelp("How the proxy speaks to the app: http1 (HTTP/1.1, the default) or h2c (HTTP/2 without TLS, e.g. gRPC).",
                               valueName: "protocol"))
    var upstreamProtocol: AppUpstreamProtocol?

    var given: Bool { httpsRedirect != nil || hsts != nil || upstreamProtocol != nil }

    func apply(to spec: inout AppSpec) {
        if let httpsRedirect { spec.httpsRedirect = httpsRedirect }
        if let hsts { spec.hsts = hsts }
        if let upstreamProtocol { spec.upstreamProtocol = upstreamProtocol }
    }
}

extension AppUpstreamProtocol: ExpressibleByArgument {}
