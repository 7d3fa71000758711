import BatonControl
import BatonOS
import CYaml

/// Bounds on an apps file, checked on libyaml's event stream before Yams composes it.
///
/// Yams resolves an alias to the anchored node itself, and hashes every mapping key to find
/// duplicates: a 300-byte file whose aliases nest eight deep and serve as keys makes that
/// hashing walk billions of nodes. Counting each alias as the size of what it names bounds the
/// work of every later step by the document's expanded size. Nesting is bounded too: Yams
/// composes recursively.
enum DocumentLimits {
    static let maxBytes = 512 << 10
    /// Nodes after every alias is expanded: far beyond any real apps file.
    static let maxNodes = 100_000
    static let maxDepth = 64

    /// Throws when `text` is too large, nests too deep or expands to too many nodes. A syntax
    /// error is not reported here: Yams reports it in its own words.
    static func check(_ text: String, file: String) throws(BatonError) {
        guard text.utf8.count <= maxBytes else {
            throw BatonError(.invalidArgument, "\(file): the file is \(text.utf8.count) bytes; an apps file may have at most \(maxBytes)")
        }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw BatonError(.internal, "\(file): cannot start the YAML parser")
        }
        defer { yaml_parser_delete(&parser) }
        var bytes = Array(text.utf8)
        let failure = bytes.withUnsafeMutableBufferPointer { buffer -> BatonError? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            var count = ExpansionCount()
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return nil }
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT { return nil }
                if let problem = count.add(event) {
                    let mark = event.start_mark
                    return BatonError(.invalidArgument, "\(file):\(mark.line + 1):\(mark.column + 1): \(problem)")
                }
            }
        }
        if let failure { throw failure }
    }
}

/// The expanded size of the nodes read so far: each node counts one plus its children, an
/// alias counts as much as the node its anchor names.
private struct ExpansionCount {
    /// The collections open now, each with its size so far and its anchor.
    private var open: [(size: Int, anchor: String?)] = []
    private var anchored: [String: Int] = [:]
    private var total = 0

    /// Takes in one event; returns what is wrong once a limit is passed.
    mutating func add(_ event: yaml_event_t) -> String? {
        switch event.type {
        case YAML_SCALAR_EVENT:
            return finish(size: 1, anchor: Self.name(event.data.scalar.anchor))
        case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
            let anchor = event.type == YAML_SEQUENCE_START_EVENT ? event.data.sequence_start.anchor : event.data.mapping_start.anchor
            guard open.count < DocumentLimits.maxDepth else {
                return "the file nests deeper than \(DocumentLimits.maxDepth) levels"
            }
            open.append((1, Self.name(anchor)))
            return nil
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            guard let closed = open.popLast() else { return nil }
            return finish(size: closed.size, anchor: closed.anchor)
        case YAML_ALIAS_EVENT:
            // An undefined alias counts one: Yams refuses it.
            return finish(size: Self.name(event.data.alias.anchor).flatMap { anchored[$0] } ?? 1, anchor: nil)
        default:
            return nil
        }
    }

    private mutating func finish(size: Int, anchor: String?) -> String? {
        if let anchor { anchored[anchor] = size }
        let grown: Int
        if open.isEmpty {
            total = Self.capped(total + size)
            grown = total
        } else {
            open[open.count - 1].size = Self.capped(open[open.count - 1].size + size)
            grown = open[open.count - 1].size
        }
        guard grown <= DocumentLimits.maxNodes else {
            return "the file expands to more than \(DocumentLimits.maxNodes) nodes through its aliases (&anchor, *alias): write the values out or use fewer aliases"
        }
        return nil
    }

    /// Past the limit every size stops growing, so nothing overflows.
    private static func capped(_ size: Int) -> Int { min(size, DocumentLimits.maxNodes + 1) }

    private static func name(_ anchor: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        anchor.map { String(cString: $0) }
    }
}
