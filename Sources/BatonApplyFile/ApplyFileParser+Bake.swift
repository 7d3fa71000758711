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
        // Each key checked alone, so the error points at the one that is wrong.
        let alone: [(String, BakeSettings)] = [
            ("bake", BakeSettings(seconds: spec.bakeSeconds ?? 0)),
            ("bake-max-5xx", BakeSettings(seconds: 0, maxServerErrorPercent: spec.bakeMaxServerErrorPercent)),
            ("bake-max-p99", BakeSettings(seconds: 0, maxP99Factor: spec.bakeMaxP99Factor)),
        ]
        for (key, settings) in alone {
            if let problem = settings.problem, let node = fields[key] { throw reader.fail(node, problem) }
        }
    }
}
