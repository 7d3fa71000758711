import Yams

/// A YAML mapping built in the order its keys are set: generated files read top to bottom the
/// way Kubernetes documents them, and the same input gives the same bytes.
struct YAMLMap {
    private(set) var pairs: [(Node, Node)] = []

    init() {}

    /// Sets `key`, unless `value` is nil (absent, not null).
    mutating func set(_ key: String, _ value: Node?) {
        guard let value else { return }
        pairs.append((YAMLValue.string(key), value))
    }

    var node: Node { Node(pairs) }
}

/// Scalars as YAML reads them back: a string is quoted whenever plain it would read as a bool,
/// a number, null or a timestamp (YAML 1.1 rules, as Kubernetes' parser applies them), and the
/// emitter quotes and escapes any character that would end or nest a scalar. No text reaches a
/// file except through here or `YAMLComment`.
enum YAMLValue {
    static func string(_ text: String) -> Node {
        // go-yaml v2 (kubectl's) also reads a lone y or n as a bool; Yams' rules do not.
        if ["y", "Y", "n", "N"].contains(text) { return Node(text, Tag(.str), .singleQuoted) }
        return .scalar(text.represented())
    }
    static func int(_ value: Int) -> Node { Node(String(value), Tag(.int)) }
    static func bool(_ value: Bool) -> Node { Node(value ? "true" : "false", Tag(.bool)) }
    static func list(_ items: [Node]) -> Node { Node(items) }
    static func strings(_ items: [String]) -> Node { Node(items.map(string)) }
    static func map(_ build: (inout YAMLMap) -> Void) -> Node {
        var map = YAMLMap()
        build(&map)
        return map.node
    }
}

/// Comment lines: `# ` and the text, every control character (a line break above all) shown as
/// `?`, so no text can end a comment and start YAML of its own.
enum YAMLComment {
    static func lines(_ texts: [String]) -> String {
        texts.map { text in
            let safe = String(String.UnicodeScalarView(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? "?" : $0 }))
            return safe.isEmpty ? "#\n" : "# " + safe + "\n"
        }.joined()
    }
}

/// One YAML document: comment lines above it, then the node.
struct YAMLDocument {
    var comments: [String]
    var node: Node

    init(comments: [String] = [], _ node: Node) {
        self.comments = comments
        self.node = node
    }

    /// Documents joined by `---`; long lines are never folded, non-ASCII is escaped.
    static func render(_ documents: [YAMLDocument]) throws -> String {
        var text = ""
        for (index, document) in documents.enumerated() {
            if index > 0 { text += "---\n" }
            text += YAMLComment.lines(document.comments)
            text += try Yams.serialize(node: document.node, indent: 2, width: -1, allowUnicode: false)
        }
        return text
    }
}
