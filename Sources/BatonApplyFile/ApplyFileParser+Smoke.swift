import BatonControl
import BatonOS
import Yams

extension ApplyFileParser {
    /// A sandbox app's smoke checks, written as `--smoke` takes them:
    /// `smoke: ["GET /healthz 200", "GET /api/items 200 contains \"items\""]`. Left out: none.
    static let smokeKeys: Set<String> = ["smoke"]

    static func parseSmokeChecks(_ fields: Node.Mapping, into spec: inout AppSpec, reader: NodeReader) throws(BatonError) {
        guard let node = fields["smoke"] else { return }
        let lines = try reader.strings(node, "'smoke'")
        do {
            spec.smoke = try SmokeCheck.parseAll(lines).map(\.description)
        } catch {
            throw reader.fail(node, error.message)
        }
    }
}
