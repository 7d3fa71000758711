import ArgumentParser
import BatonControl

/// `baton app ls`: name, hosts, kind and the digest serving now (with `--json`, also the proxy settings).
struct AppListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List apps.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print one JSON array.")
    var json = false

    /// One `app ls --json` object: the keys CLI.md promises, digest null when nothing serves.
    struct Row: Encodable {
        var name: String
        var hosts: [String]
        var kind: String
        var digest: String?
        var upstream: String?
        var httpsRedirect: Bool
        var hsts: Bool
        var upstreamProtocol: String
        /// Smoke part: the app's smoke checks.
        var smoke: [String] = []
        /// Bake (part 3): seconds of bake window after each flip (0: none).
        var bakeSeconds: Double = 0
        /// Replicas part: sandboxes serving the app at once.
        var replicas: Int

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(hosts, forKey: .hosts)
            try container.encode(kind, forKey: .kind)
            try container.encode(digest, forKey: .digest)
            try container.encode(upstream, forKey: .upstream)
            try container.encode(httpsRedirect, forKey: .httpsRedirect)
            try container.encode(hsts, forKey: .hsts)
            try container.encode(upstreamProtocol, forKey: .upstreamProtocol)
            try container.encode(smoke, forKey: .smoke)
            try container.encode(bakeSeconds, forKey: .bakeSeconds)
            try container.encode(replicas, forKey: .replicas)
        }

        enum CodingKeys: String, CodingKey { case name, hosts, kind, digest, upstream, httpsRedirect, hsts, upstreamProtocol, smoke, bakeSeconds, replicas }
    }

    func run() throws {
        let apps = try global.controlClient.listApps()
        let rows = apps.map {
            Row(name: $0.name, hosts: $0.hosts, kind: $0.kind.rawValue, digest: $0.digest, upstream: $0.upstream,
                httpsRedirect: $0.httpsRedirect, hsts: $0.hsts, upstreamProtocol: $0.upstreamProtocol.rawValue, smoke: $0.smoke,
                bakeSeconds: $0.bakeSeconds, replicas: $0.replicas)
        }
        if json {
            try Output.json(rows)
            return
        }
        let urls = AppURLs(client: try global.controlClient)
        Output.table(
            ["NAME", "KIND", "SERVING", "URLS"],
            rows.map { [$0.name, $0.kind, $0.digest ?? $0.upstream ?? "-", urls.joined($0.hosts) ?? "-"] })
    }
}
