import BatonControl
import BatonOS
import Yams

extension ApplyFileParser {
    /// `volumes: [NAME:/path[:ro], shared:NAME:/path]`, `strategy: blue-green|stop-first` and
    /// `hold: SECONDS`, written as on the command line.
    static func parseVolumesAndStrategy(_ fields: Node.Mapping, into spec: inout AppSpec, reader: NodeReader) throws(BatonError) {
        if let node = fields["volumes"] {
            var volumes: [AppVolume] = []
            for text in try reader.strings(node, "'volumes'") {
                guard let volume = AppVolume.parse(text) else {
                    throw reader.fail(node, "invalid volume '\(text)': \(AppVolume.formHint)")
                }
                volumes.append(volume)
            }
            spec.volumes = volumes
        }
        if let node = fields["strategy"] {
            let text = try reader.string(node, "'strategy'")
            guard let strategy = DeployStrategy(rawValue: text) else {
                throw reader.fail(node, "'strategy' must be \(DeployStrategy.allCases.map(\.rawValue).joined(separator: " or ")), not '\(text)'")
            }
            spec.strategy = strategy
        }
        spec.holdTimeout = try fields["hold"].map { (node: Node) throws(BatonError) in try reader.seconds(node, "'hold'") }
    }
}
