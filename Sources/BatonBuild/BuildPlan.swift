import BatonOS
import BatonSandbox
import BatonStore

/// A Batonfile's instructions resolved against the base's config: variables expanded, values
/// checked, the config each step leaves behind worked out. Made before any step runs, so a
/// mistake anywhere in the file is reported before anything is built.
struct BuildPlan {
    enum Action: Sendable {
        /// Files from the context: each source (relative to it) to `destination` (absolute).
        case copy(sources: [String], destination: String, destinationIsDirectory: Bool, chmod: UInt32?)
        case run(argv: [String])
        /// Only the config changes.
        case config
    }

    struct Step {
        let line: Int
        /// How progress shows it, and what its cache key hashes: the instruction, expanded.
        let text: String
        let action: Action
        /// The image config once this step is done (what a RUN sees: env, workdir, user).
        let config: ImageConfig
    }

    let steps: [Step]

    /// Resolves `file`'s instructions on top of `base`'s config.
    init(_ file: Batonfile, base: ImageConfig) throws {
        var config = base
        var cmdSetHere = false
        var steps: [Step] = []
        for instruction in file.instructions {
            func fail(_ message: String) -> BatonError { file.error(instruction.line, message) }
            var environment: [String: String] = [:]
            for entry in SandboxSpec.merging(SandboxSpec.defaultEnvironment, config.env) {
                let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                environment[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
            }
            func words() throws -> [String] {
                do {
                    switch instruction.arguments {
                    case .shell(let text): return try ShellWords.split(text, environment: environment)
                    case .json(let list): return try list.map { try ShellWords.expand($0, environment: environment) }
                    }
                } catch let problem as ShellWords.Problem {
                    throw fail("\(instruction.keyword): \(problem.message)")
                }
            }
            func pairs() throws -> [(String, String)] {
                guard case .shell(let text) = instruction.arguments else { throw fail("\(instruction.keyword) takes KEY=VALUE pairs, not a JSON list") }
                let list = try words()
                // The old form `ENV KEY value with spaces`.
                if let first = list.first, !first.contains("=") {
                    guard instruction.keyword == "ENV", list.count >= 2 else {
                        throw fail("\(instruction.keyword) takes KEY=VALUE pairs")
                    }
                    let value = text.trimmedWhitespace.drop { $0 != " " && $0 != "\t" }
                    return [(first, try ShellWords.split(String(value), environment: environment).joined(separator: " "))]
                }
                return try list.map { word in
                    guard let equals = word.firstIndex(of: "="), equals != word.startIndex else {
                        throw fail("\(instruction.keyword): '\(word)' is not KEY=VALUE")
                    }
                    return (String(word[..<equals]), String(word[word.index(after: equals)...]))
                }
            }
            func program() throws -> [String] {
                switch instruction.arguments {
                case .shell(let text): return ["/bin/sh", "-c", text]
                case .json(let list):
                    guard let first = list.first, !first.isEmpty else { throw fail("\(instruction.keyword) [] names no program") }
                    return list
                }
            }
            var action = Action.config
            var text = instruction.keyword
            switch instruction.keyword {
            case "COPY":
                let list = try words()
                guard list.count >= 2 else { throw fail("COPY needs a source and a destination: COPY SRC… DEST") }
                var chmod: UInt32?
                if let value = instruction.flags["chmod"] {
                    guard let bits = UInt32(value, radix: 8), bits <= 0o7777, !value.isEmpty else {
                        throw fail("COPY --chmod=\(value) must be octal permission bits, e.g. --chmod=755")
                    }
                    chmod = bits
                }
                let sources = Array(list.dropLast())
                for source in sources {
                    if let problem = BuildContext.sourceProblem(source) { throw fail("COPY \(source): \(problem)") }
                }
                let rawDestination = list.last!
                let destinationIsDirectory = rawDestination.hasSuffix("/") || sources.count > 1
                let destination = Self.absolute(rawDestination, workdir: config.workingDir)
                if destination.split(separator: "/").contains("..") { throw fail("COPY destination '\(rawDestination)' must not contain '..'") }
                action = .copy(sources: sources, destination: destination, destinationIsDirectory: destinationIsDirectory, chmod: chmod)
                text = "COPY " + (chmod.map { "--chmod=\(String($0, radix: 8)) " } ?? "") + Self.quoted(sources + [destination + (destinationIsDirectory && destination != "/" ? "/" : "")])
            case "RUN":
                let argv = try program()
                action = .run(argv: argv)
                if case .shell(let command) = instruction.arguments { text = "RUN " + command } else { text = "RUN " + Self.quoted(argv) }
            case "ENV":
                let entries = try pairs()
                config.env = SandboxSpec.merging(config.env, entries.map { "\($0.0)=\($0.1)" })
                text = "ENV " + Self.quoted(entries.map { "\($0.0)=\($0.1)" })
            case "LABEL":
                for (key, value) in try pairs() {
                    if key == AnnotationKey.healthPath {
                        guard value.hasPrefix("/") else { throw fail("LABEL \(key)=\(value): the health path must start with '/'") }
                        config.healthPath = value
                    } else if key == AnnotationKey.hostBinds {
                        throw fail("LABEL \(key) is Baton's own: host directories come only from FROM host")
                    } else {
                        config.labels[key] = value
                    }
                    text += " " + Self.quoted(["\(key)=\(value)"])
                }
            case "WORKDIR":
                let list = try words()
                guard list.count == 1 else { throw fail("WORKDIR takes one path") }
                let path = Self.absolute(list[0], workdir: config.workingDir)
                if path.split(separator: "/").contains("..") { throw fail("WORKDIR '\(list[0])' must not contain '..'") }
                config.workingDir = path
                text = "WORKDIR " + path
            case "CMD":
                config.cmd = try program()
                cmdSetHere = true
                text = "CMD " + Self.quoted(config.cmd!)
            case "ENTRYPOINT":
                config.entrypoint = try program()
                // As in a Dockerfile: a new entrypoint drops the base's command.
                if !cmdSetHere { config.cmd = nil }
                text = "ENTRYPOINT " + Self.quoted(config.entrypoint!)
            case "EXPOSE":
                var ports: [Int] = []
                for word in try words() {
                    var spec = Substring(word)
                    if spec.hasSuffix("/tcp") { spec = spec.dropLast(4) }
                    if spec.hasSuffix("/udp") { throw fail("EXPOSE \(word): only TCP ports are served through Baton's proxy") }
                    guard let port = Int(spec), (1...65535).contains(port) else {
                        throw fail("EXPOSE \(word): a port is a number from 1 to 65535")
                    }
                    ports.append(port)
                }
                config.exposedPorts = Array(Set(config.exposedPorts + ports)).sorted()
                text = "EXPOSE " + ports.map(String.init).joined(separator: " ")
            case "USER":
                let list = try words()
                guard list.count == 1, Self.numericUser(list[0]) else {
                    throw fail("USER takes a numeric UID or UID:GID (user names are not looked up)")
                }
                config.user = list[0]
                text = "USER " + list[0]
            default:
                throw fail("unknown instruction '\(instruction.keyword)'")
            }
            steps.append(Step(line: instruction.line, text: text, action: action, config: config))
        }
        self.steps = steps
    }

    /// Checks what can be checked without an environment (called while parsing).
    static func checkSyntax(_ instruction: Batonfile.Instruction, in file: Batonfile) throws {
        if case .shell(let text) = instruction.arguments, ["COPY", "ENV", "LABEL", "WORKDIR", "EXPOSE", "USER"].contains(instruction.keyword) {
            do throws(ShellWords.Problem) {
                _ = try ShellWords.split(text, environment: [:])
            } catch {
                throw file.error(instruction.line, "\(instruction.keyword): \(error.message)")
            }
        }
    }

    static func absolute(_ path: String, workdir: String?) -> String {
        let joined = path.hasPrefix("/") ? path : (workdir ?? "/") + "/" + path
        let parts = joined.split(separator: "/").filter { $0 != "." }
        return "/" + parts.joined(separator: "/")
    }

    static func numericUser(_ text: String) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        return (1...2).contains(parts.count) && parts.allSatisfy { !$0.isEmpty && UInt32($0) != nil }
    }

    /// Words as a JSON list: unambiguous in progress lines and cache keys.
    static func quoted(_ words: [String]) -> String {
        JSONText.array(words)
    }
}
