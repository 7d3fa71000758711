import BatonControl
import BatonOS
import Yams

/// Typed reads of YAML nodes whose failures name the node's line and column.
struct NodeReader {
    let file: String

    func location(_ node: Node) -> SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    func fail(_ node: Node, _ message: String) -> BatonError {
        BatonError(.invalidArgument, "\(location(node)): \(message)")
    }

    func mapping(_ node: Node, _ what: String) throws(BatonError) -> Node.Mapping {
        guard case .mapping(let mapping) = node else { throw fail(node, "\(what) must be a map of keys to values") }
        return mapping
    }

    func refuseUnknownKeys(_ mapping: Node.Mapping, allowed: Set<String>, in what: String) throws(BatonError) {
        for key in mapping.keys {
            let name = key.scalar?.string ?? "?"
            if !allowed.contains(name) {
                throw fail(key, "unknown key '\(name)' in \(what): use \(allowed.sorted().joined(separator: ", "))")
            }
        }
    }

    /// A scalar's text as written (so `127.0.0.1:9000` is never read as a number).
    func string(_ node: Node, _ what: String) throws(BatonError) -> String {
        guard case .scalar(let scalar) = node, !(scalar.style == .plain && scalar.string.isEmpty) else {
            throw fail(node, "\(what) must be a single value")
        }
        return scalar.string
    }

    /// A list of values; one value alone counts as a list of one.
    func strings(_ node: Node, _ what: String) throws(BatonError) -> [String] {
        guard case .sequence(let sequence) = node else { return [try string(node, what)] }
        var values: [String] = []
        for item in sequence { values.append(try string(item, "each of \(what)")) }
        return values
    }

    func integer(_ node: Node, _ what: String) throws(BatonError) -> Int {
        let text = try string(node, what)
        guard let value = Int(text) else { throw fail(node, "\(what) must be a whole number, not '\(text)'") }
        return value
    }

    func number(_ node: Node, _ what: String) throws(BatonError) -> Double {
        let text = try string(node, what)
        guard let value = Double(text), value.isFinite else { throw fail(node, "\(what) must be a number, not '\(text)'") }
        return value
    }

    func seconds(_ node: Node, _ what: String) throws(BatonError) -> Double {
        let text = try string(node, what)
        guard let value = Double(text), value.isFinite else { throw fail(node, "\(what) must be a number of seconds, not '\(text)'") }
        return value
    }

    /// A YAML syntax error, at the place libyaml found it.
    func yamlError(_ error: YamlError) -> BatonError {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            let detail = context.map { " (\($0.text) started at \($0.mark.line):\($0.mark.column))" } ?? ""
            return BatonError(.invalidArgument, "\(file):\(mark.line):\(mark.column): invalid YAML: \(problem)\(detail)")
        case let .duplicatedKeysInMapping(duplicates, context):
            return BatonError(.invalidArgument,
                "\(file):\(context.mark.line):\(context.mark.column): key \(duplicates.joined(separator: ", ")) given twice")
        default:
            return BatonError(.invalidArgument, "\(file): invalid YAML: \(error)")
        }
    }
}
