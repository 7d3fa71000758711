import BatonControl
import BatonOS
import Yams

extension ApplyFileParser {
    /// Bake (part 3): a sandbox app's bake window, written as its flags: `bake: 30` (seconds),
    /// `bake-max-5xx: 1` (percent), `bake-max-p99: 2` (times the old sandbox's p99).
    static let bakeKeys: Set<String> = ["bake", "bake-max-5xx", "bake-max-p99"]

    static func parseBakeSettings(_ fields: Node.Mapping, into spec: inout AppSpec, reader: NodeReader) throws(BatonError) {
        spec.bakeSeconds = try fields["bake"].map { (node: Node) throws(BatonError) in try reader.seconds(node, "'bake'") }
        spec.bakeMaxServerErrorPercent = try fields["bake-max-5xx"].map { (node: Node) throws(BatonError) in
            try reader.number(node, "'bake-max-5xx'")
        }
        spec.bakeMaxP99Factor = try fields["bake-max-p99"].map { (node: Node) throws(BatonError) in
            try reader.number(node, "'bake-max-p99'")
        }
        if let problem = spec.storedBakeSettings.problem, let node = fields["bake"] ?? fields["bake-max-5xx"] ?? fields["bake-max-p99"] {
            throw reader.fail(node, problem)
        }
    }
}
