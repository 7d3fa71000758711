import BatonControl
import BatonOS
import Yams

extension ApplyFileParser {
    /// `replicas: N` (1-16) of a sandbox app, as `--replicas N`.
    static let replicaKeys: Set<String> = ["replicas"]

    static func parseReplicas(_ fields: Node.Mapping, into spec: inout AppSpec, reader: NodeReader) throws(BatonError) {
        guard let node = fields["replicas"] else { return }
        let count = try reader.integer(node, "'replicas'")
        guard AppSpec.replicaRange.contains(count) else {
            throw reader.fail(node, "'replicas' must be \(AppSpec.replicaRange.lowerBound)-\(AppSpec.replicaRange.upperBound), not \(count)")
        }
        spec.replicas = count
    }
}
