/// A `WWW-Authenticate` challenge: `Basic realm="…"` or
/// `Bearer realm="https://auth…/token",service="registry",scope="repository:team/app:pull"`.
struct AuthChallenge: Equatable, Sendable {
    enum Scheme: Equatable, Sendable { case basic, bearer }

    var scheme: Scheme
    var parameters: [String: String]

    var realm: String? { parameters["realm"] }

    /// Parses the first challenge of a header value; nil for schemes Baton does not speak.
    init?(header: String) {
        let trimmed = header.drop { $0 == " " }
        guard let space = trimmed.firstIndex(of: " ") ?? (trimmed.isEmpty ? nil : trimmed.endIndex) else { return nil }
        switch trimmed[..<space].lowercased() {
        case "basic": scheme = .basic
        case "bearer": scheme = .bearer
        default: return nil
        }
        parameters = Self.parameters(trimmed[space...])
    }

    /// `key="quoted, value",key2=token`: quoted strings may hold commas and `\"`.
    private static func parameters(_ text: Substring) -> [String: String] {
        var result: [String: String] = [:]
        var rest = text[...]
        while true {
            rest = rest.drop { $0 == " " || $0 == "," }
            guard let equals = rest.firstIndex(of: "=") else { return result }
            let key = rest[..<equals].trimmingCharacters().lowercased()
            rest = rest[rest.index(after: equals)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                var escaped = false
                var end = rest.endIndex
                for index in rest.indices {
                    let character = rest[index]
                    if escaped {
                        value.append(character)
                        escaped = false
                    } else if character == "\\" {
                        escaped = true
                    } else if character == "\"" {
                        end = index
                        break
                    } else {
                        value.append(character)
                    }
                }
                rest = end < rest.endIndex ? rest[rest.index(after: end)...] : rest[rest.endIndex...]
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                value = String(rest[..<end]).trimmingCharacters()
                rest = rest[end...]
            }
            if !key.isEmpty, result[key] == nil { result[key] = value }
        }
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters() -> String {
        String(String(self).drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
