import BatonOS
import FoundationEssentials

extension Batonfile {
    /// Files larger than this are refused before parsing.
    public static let maxBytes = 1 << 20

    /// Parses `text`; `fileName` prefixes every error (`Batonfile:3: …`).
    public init(parsing text: String, fileName: String) throws {
        var from: (line: Int, reference: String)?
        var instructions: [Instruction] = []
        let shape = Batonfile(fileName: fileName, from: "", fromLine: 0, instructions: [])
        if let line = Self.escapeDirectiveLine(text) {
            throw shape.error(line, "the escape parser directive is not supported: lines continue with '\\'")
        }
        for logical in Self.logicalLines(text) {
            let trimmed = logical.text.trimmedWhitespace
            let keywordEnd = trimmed.firstIndex { $0 == " " || $0 == "\t" } ?? trimmed.endIndex
            let keyword = trimmed[..<keywordEnd].uppercased()
            var rest = String(trimmed[keywordEnd...]).trimmedWhitespace
            guard let allowedFlags = Self.supported[keyword] else {
                throw shape.error(logical.line, Self.refused[keyword] ?? "unknown instruction '\(trimmed[..<keywordEnd])'")
            }
            var flags: [String: String] = [:]
            while rest.hasPrefix("--") {
                let end = rest.firstIndex { $0 == " " || $0 == "\t" } ?? rest.endIndex
                let flag = rest[rest.index(rest.startIndex, offsetBy: 2)..<end]
                let name = String(flag.prefix { $0 != "=" })
                guard allowedFlags.contains(name), flag.contains("=") else {
                    throw shape.error(logical.line, Self.flagProblem(keyword, String(rest[..<end])))
                }
                flags[name] = String(flag.drop { $0 != "=" }.dropFirst())
                rest = String(rest[end...]).trimmedWhitespace
            }
            guard !rest.isEmpty else { throw shape.error(logical.line, "\(keyword) needs arguments") }
            var arguments = Arguments.shell(rest)
            if rest.hasPrefix("["), let list = Self.jsonList(rest) {
                arguments = .json(list)
            }
            if keyword == "FROM" {
                guard from == nil else {
                    throw shape.error(logical.line, "a second FROM: multi-stage builds are not supported; build each stage as its own artifact")
                }
                guard instructions.isEmpty else { throw shape.error(logical.line, "FROM must be the first instruction") }
                let words = rest.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard words.count == 1 else {
                    throw shape.error(logical.line, "FROM takes one reference (FROM … AS NAME, multi-stage builds, are not supported)")
                }
                from = (logical.line, String(words[0]))
                continue
            }
            guard from != nil else { throw shape.error(logical.line, "the first instruction must be FROM") }
            let instruction = Instruction(line: logical.line, keyword: keyword, flags: flags, arguments: arguments)
            try BuildPlan.checkSyntax(instruction, in: shape)
            instructions.append(instruction)
        }
        guard let from else {
            throw BatonError(.invalidArgument, "\(fileName): no FROM instruction (use FROM scratch for an empty base)")
        }
        self.init(fileName: fileName, from: from.reference, fromLine: from.line, instructions: instructions)
    }

    private static func flagProblem(_ keyword: String, _ flag: String) -> String {
        switch (keyword, flag.prefix { $0 != "=" }) {
        case ("COPY", "--from"): return "COPY --from is not supported: multi-stage builds are not supported"
        case ("COPY", "--chown"): return "COPY --chown is not supported: files in a layer are always owned by root (0:0)"
        case ("FROM", "--platform"): return "FROM --platform is not supported: a build makes an artifact for this host's platform"
        case ("RUN", _): return "RUN \(flag) is not supported: RUN takes no flags (its network is the build's --network)"
        case ("COPY", "--chmod"): return "COPY --chmod needs a value: --chmod=644"
        default: return "\(keyword) does not take the flag \(flag)"
        }
    }

    /// A JSON array of strings, or nil when `text` is not one (then it is shell form, as in a
    /// Dockerfile).
    static func jsonList(_ text: String) -> [String]? {
        try? JSONDecoder().decode([String].self, from: Data(text.utf8))
    }

    /// The line of a `# escape=…` parser directive: a comment among the file's leading
    /// comments, which a Dockerfile reads as changing its continuation character.
    static func escapeDirectiveLine(_ text: String) -> Int? {
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw).trimmedWhitespace
            guard line.hasPrefix("#") else { return nil }
            let directive = line.dropFirst().filter { $0 != " " && $0 != "\t" }.lowercased()
            if directive.hasPrefix("escape=") { return index + 1 }
        }
        return nil
    }

    /// The file's instructions as (first line, text): comment lines and blank lines dropped,
    /// lines ending in a backslash joined with the next.
    static func logicalLines(_ text: String) -> [(line: Int, text: String)] {
        var result: [(Int, String)] = []
        var pending: (line: Int, text: String)?
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = String(raw)
            if line.hasSuffix("\r") { line.removeLast() }
            let trimmed = line.trimmedWhitespace
            // Comments and blank lines are dropped, inside a continuation too (as Docker does).
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            var continues = false
            if trimmed.hasSuffix("\\") {
                continues = true
                line = String(trimmed.dropLast())
            }
            if var current = pending {
                current.text += line
                pending = current
            } else {
                pending = (index + 1, line)
            }
            if !continues, let done = pending {
                result.append(done)
                pending = nil
            }
        }
        if let done = pending { result.append(done) }
        return result
    }
}
