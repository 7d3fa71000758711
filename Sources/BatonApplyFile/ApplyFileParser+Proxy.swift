import BatonControl
import BatonOS
import Yams

extension ApplyFileParser {
    /// The proxy's settings of an app, sandbox or upstream, written as their flags:
    /// `https-redirect: true`, `hsts: true`, `protocol: h2c` (or `http1`, the default).
    static let proxyKeys: Set<String> = ["https-redirect", "hsts", "protocol"]

    static func parseProxySettings(_ fields: Node.Mapping, into spec: inout AppSpec, reader: NodeReader) throws(BatonError) {
        spec.httpsRedirect = try fields["https-redirect"].map { (node: Node) throws(BatonError) in
            try reader.boolean(node, "'https-redirect'")
        }
        spec.hsts = try fields["hsts"].map { (node: Node) throws(BatonError) in try reader.boolean(node, "'hsts'") }
        if let node = fields["protocol"] {
            let text = try reader.string(node, "'protocol'")
            guard let value = AppUpstreamProtocol(rawValue: text) else {
                throw reader.fail(node, "'protocol' must be \(AppUpstreamProtocol.choices), not '\(text)'")
            }
            spec.upstreamProtocol = value
        }
    }
}

extension NodeReader {
    /// `true` or `false` as YAML 1.2 writes them (not `yes`, `on` or `1`: one spelling each).
    func boolean(_ node: Node, _ what: String) throws(BatonError) -> Bool {
        let text = try string(node, what)
        switch text {
        case "true": return true
        case "false": return false
        default: throw fail(node, "\(what) must be true or false, not '\(text)'")
        }
    }
}
