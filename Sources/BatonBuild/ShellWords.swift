/// The word rules of a Batonfile's arguments (as a Dockerfile's): whitespace separates words,
/// `'…'` is literal, `"…"` keeps spaces and expands variables, a backslash escapes the next
/// character, and `$NAME`, `${NAME}`, `${NAME:-default}`, `${NAME:+alternative}` expand from
/// the build's environment so far (an unset name expands to nothing).
enum ShellWords {
    struct Problem: Error {
        let message: String
    }

    /// Splits `text` into words, expanding variables from `environment`.
    static func split(_ text: String, environment: [String: String]) throws(Problem) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var chars = Array(text.unicodeScalars)[...]
        while let c = chars.popFirst() {
            switch c {
            case " ", "\t", "\n", "\r":
                if inWord { words.append(current); current = ""; inWord = false }
            case "\\":
                inWord = true
                if let next = chars.popFirst() { current.unicodeScalars.append(next) } else { current += "\\" }
            case "'":
                inWord = true
                guard let end = chars.firstIndex(of: "'") else { throw Problem(message: "unterminated ' quote") }
                current.unicodeScalars.append(contentsOf: chars[chars.startIndex..<end])
                chars = chars[(end + 1)...]
            case "\"":
                inWord = true
                var closed = false
                while let d = chars.popFirst() {
                    if d == "\"" { closed = true; break }
                    if d == "\\", let next = chars.first, next == "\"" || next == "\\" || next == "$" {
                        current.unicodeScalars.append(next)
                        chars = chars.dropFirst()
                    } else if d == "$" {
                        current += try expansion(&chars, environment)
                    } else {
                        current.unicodeScalars.append(d)
                    }
                }
                if !closed { throw Problem(message: "unterminated \" quote") }
            case "$":
                inWord = true
                current += try expansion(&chars, environment)
            default:
                inWord = true
                current.unicodeScalars.append(c)
            }
        }
        if inWord { words.append(current) }
        return words
    }

    /// Expands variables in one word without splitting it (a JSON-form COPY's elements).
    static func expand(_ word: String, environment: [String: String]) throws(Problem) -> String {
        var result = ""
        var chars = Array(word.unicodeScalars)[...]
        while let c = chars.popFirst() {
            if c == "\\", let next = chars.first, next == "$" {
                result += "$"
                chars = chars.dropFirst()
            } else if c == "$" {
                result += try expansion(&chars, environment)
            } else {
                result.unicodeScalars.append(c)
            }
        }
        return result
    }

    private static func isNameCharacter(_ c: Unicode.Scalar) -> Bool {
        c == "_" || ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c)
    }

    /// What follows a `$` (already consumed): `NAME`, `{NAME}`, `{NAME:-word}`, `{NAME:+word}`.
    private static func expansion(_ chars: inout ArraySlice<Unicode.Scalar>, _ environment: [String: String]) throws(Problem) -> String {
        guard let first = chars.first else { return "$" }
        if first != "{" {
            var name = ""
            while let c = chars.first, isNameCharacter(c) {
                name.unicodeScalars.append(c)
                chars = chars.dropFirst()
            }
            return name.isEmpty ? "$" : environment[name] ?? ""
        }
        chars = chars.dropFirst()
        guard let end = chars.firstIndex(of: "}") else { throw Problem(message: "unterminated ${…}") }
        let body = String(String.UnicodeScalarView(chars[chars.startIndex..<end]))
        chars = chars[(end + 1)...]
        var name = body
        var modifier: (kind: Character, word: String)?
        if let colon = body.firstIndex(of: ":") {
            name = String(body[..<colon])
            let rest = body[body.index(after: colon)...]
            guard let kind = rest.first, kind == "-" || kind == "+" else {
                throw Problem(message: "unsupported substitution ${\(body)}: use ${NAME}, ${NAME:-default} or ${NAME:+alternative}")
            }
            modifier = (kind, try expand(String(rest.dropFirst()), environment: environment))
        }
        guard !name.isEmpty, name.unicodeScalars.allSatisfy(isNameCharacter) else {
            throw Problem(message: "invalid variable name in ${\(body)}")
        }
        let value = environment[name]
        switch modifier?.kind {
        case "-": return (value ?? "").isEmpty ? modifier!.word : value!
        case "+": return (value ?? "").isEmpty ? "" : modifier!.word
        default: return value ?? ""
        }
    }
}
