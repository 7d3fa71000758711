import BatonOS

/// Splits `--cmd 'PROGRAM ARGS…'` into words as a POSIX shell would for plain words, single
/// quotes, double quotes and backslashes (no expansions).
enum CommandWords {
    static func split(_ text: String) throws -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for character in text {
            if escaped {
                current.append(character)
                escaped = false
                continue
            }
            switch (quote, character) {
            case (nil, "\\"), ("\"", "\\"):
                escaped = true
                inWord = true
            case (nil, "'"), (nil, "\""):
                quote = character
                inWord = true
            case ("'", "'"), ("\"", "\""):
                quote = nil
            case (nil, " "), (nil, "\t"), (nil, "\n"):
                if inWord { words.append(current) }
                current = ""
                inWord = false
            default:
                current.append(character)
                inWord = true
            }
        }
        guard quote == nil, !escaped else {
            throw BatonError(.invalidArgument, "--cmd has an unterminated quote or a trailing backslash")
        }
        if inWord { words.append(current) }
        return words
    }
}
