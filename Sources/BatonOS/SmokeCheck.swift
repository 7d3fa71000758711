/// One smoke check of an app (`--smoke 'GET /api/items 200 contains "items"'`): a request sent
/// to green before the flip and what its response must be. The grammar (docs/deploys.md):
///
///     check  = METHOD SP PATH SP STATUS [SP "contains" SP QUOTED] [SP "body" SP (JSON / QUOTED)]
///
/// METHOD is one of `methods`; PATH starts with `/` and is visible ASCII; STATUS is 100-599;
/// QUOTED is a double-quoted string with `\"` and `\\` as its only escapes; JSON is the rest of
/// the line, one JSON object or array. Checks are written by the operator but their text ends
/// up in requests and messages, so each part is bounded and free of control characters.
public struct SmokeCheck: Sendable, Equatable, CustomStringConvertible {
    /// The request body: sent as application/json or text/plain.
    public struct Body: Sendable, Equatable {
        public let text: String
        public let isJSON: Bool

        public init(text: String, isJSON: Bool) {
            self.text = text
            self.isJSON = isJSON
        }
    }

    public let method: String
    public let path: String
    public let status: Int
    /// Text the response body must contain (in its first `SmokeLimits.maxBody` bytes).
    public let contains: String?
    public let body: Body?

    public static let methods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    /// Bounds on what a check may say.
    public enum Limits {
        public static let maxLine = 4096
        public static let maxPath = 2048
        public static let maxText = 1024
        /// Checks per app.
        public static let maxChecks = 32
    }

    public init(method: String, path: String, status: Int, contains: String? = nil, body: Body? = nil) {
        self.method = method
        self.path = path
        self.status = status
        self.contains = contains
        self.body = body
    }

    /// Parses one check; throws `.invalidArgument` naming the check and what is wrong with it.
    public init(parsing line: String) throws(BatonError) {
        func bad(_ why: String) -> BatonError {
            BatonError(.invalidArgument, "invalid smoke check '\(SmokeCheck.printable(line))': \(why)")
        }
        guard line.utf8.count <= Limits.maxLine else { throw bad("longer than \(Limits.maxLine) bytes") }
        guard !line.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && $0 != "\t" }) else {
            throw bad("it contains a control character")
        }
        var scanner = SmokeScanner(line)
        guard let method = scanner.word(), let path = scanner.word(), let statusText = scanner.word() else {
            throw bad("use METHOD PATH STATUS [contains \"TEXT\"] [body JSON-or-\"TEXT\"], e.g. GET /healthz 200")
        }
        guard Self.methods.contains(method) else {
            throw bad("unknown method '\(method)': use \(Self.methods.sorted().joined(separator: ", "))")
        }
        guard path.hasPrefix("/"), path.utf8.count <= Limits.maxPath,
              path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "#") })
        else {
            throw bad("path '\(path)' must start with / and be at most \(Limits.maxPath) visible ASCII characters without #")
        }
        guard statusText.utf8.count == 3, statusText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let status = Int(statusText),
              (100...599).contains(status)
        else {
            throw bad("status '\(statusText)' is not an HTTP status: use 100-599")
        }
        var contains: String?
        var body: Body?
        while let keyword = scanner.word() {
            switch keyword {
            case "contains" where contains == nil && body == nil:
                contains = try scanner.quoted(bad)
                if contains?.isEmpty == true { throw bad("contains \"\" checks nothing: give the text the response must contain") }
            case "body" where body == nil:
                guard method != "GET" && method != "HEAD" else { throw bad("a \(method) request has no body") }
                if scanner.peek == UInt8(ascii: "\"") {
                    body = Body(text: try scanner.quoted(bad), isJSON: false)
                } else {
                    let json = scanner.rest()
                    guard JSONSyntax.isValue(json), let first = json.utf8.first, first == UInt8(ascii: "{") || first == UInt8(ascii: "[") else {
                        throw bad("body must be a JSON object or array, or a quoted \"TEXT\"")
                    }
                    body = Body(text: json, isJSON: true)
                }
            default:
                throw bad("unexpected '\(keyword)': after the status come contains \"TEXT\" then body JSON-or-\"TEXT\", each at most once")
            }
            if !scanner.atEnd && !scanner.skipSpace() { throw bad("a space must follow a quoted text") }
        }
        self.init(method: method, path: path, status: status, contains: contains, body: body)
    }

    /// The check as the grammar writes it (how it is stored and shown).
    public var description: String {
        var text = "\(method) \(path) \(status)"
        if let contains { text += " contains \(Self.quote(contains))" }
        if let body { text += " body " + (body.isJSON ? body.text : Self.quote(body.text)) }
        return text
    }

    /// Parses a list of checks: each must parse, at most `maxChecks`.
    public static func parseAll(_ lines: [String]) throws(BatonError) -> [SmokeCheck] {
        guard lines.count <= Limits.maxChecks else {
            throw BatonError(.invalidArgument, "\(lines.count) smoke checks: an app has at most \(Limits.maxChecks)")
        }
        return try lines.map { (line: String) throws(BatonError) in try SmokeCheck(parsing: line) }
    }

    /// The lines of a smoke file that are checks: blank lines and `#` comments are skipped.
    public static func fileLines(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).map(trimmedSpaces).filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    static func quote(_ text: String) -> String {
        "\"" + text.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"") + "\""
    }

    /// `text` with control characters shown as `\u{…}` and cut at 200 characters, for messages.
    public static func printable(_ text: String, limit: Int = 200) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(limit) {
            if scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return text.unicodeScalars.count > limit ? out + "…" : out
    }
}

/// Splits a check into words and quoted texts.
private struct SmokeScanner {
    let bytes: [UInt8]
    var index = 0

    init(_ line: String) {
        bytes = Array(line.utf8)
        _ = skipSpace()
    }

    var atEnd: Bool { index >= bytes.count }
    var peek: UInt8? { atEnd ? nil : bytes[index] }

    /// Skips spaces and tabs; whether there were any.
    mutating func skipSpace() -> Bool {
        let start = index
        while let byte = peek, byte == 0x20 || byte == 0x09 { index += 1 }
        return index > start
    }

    mutating func word() -> String? {
        guard !atEnd else { return nil }
        let start = index
        while let byte = peek, byte != 0x20 && byte != 0x09 { index += 1 }
        let word = String(decoding: bytes[start..<index], as: UTF8.self)
        _ = skipSpace()
        return word
    }

    mutating func quoted(_ bad: (String) -> BatonError) throws(BatonError) -> String {
        guard peek == UInt8(ascii: "\"") else { throw bad("expected a double-quoted \"TEXT\"") }
        index += 1
        var text: [UInt8] = []
        while let byte = peek {
            index += 1
            if byte == UInt8(ascii: "\"") {
                guard text.count <= SmokeCheck.Limits.maxText else {
                    throw bad("a quoted text is longer than \(SmokeCheck.Limits.maxText) bytes")
                }
                return String(decoding: text, as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") {
                guard let next = peek, next == UInt8(ascii: "\"") || next == UInt8(ascii: "\\") else {
                    throw bad("only \\\" and \\\\ are escapes in a quoted text")
                }
                index += 1
                text.append(next)
            } else {
                text.append(byte)
            }
        }
        throw bad("a quoted text is not closed with \"")
    }

    /// The rest of the line, trailing spaces removed.
    mutating func rest() -> String {
        var end = bytes.count
        while end > index, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        defer { index = bytes.count }
        return String(decoding: bytes[index..<end], as: UTF8.self)
    }
}

/// `line` without the spaces, tabs and carriage returns around it.
private func trimmedSpaces(_ line: Substring) -> String {
    var slice = line
    while let first = slice.first, first == " " || first == "\t" || first == "\r" { slice = slice.dropFirst() }
    while let last = slice.last, last == " " || last == "\t" || last == "\r" { slice = slice.dropLast() }
    return String(slice)
}

private extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for character in self {
            if character == target { out += replacement } else { out.append(character) }
        }
        return out
    }
}
