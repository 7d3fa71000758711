import BatonApplyFile
import BatonControl
import BatonOS
import Foundation
import Testing

/// Hostile apps files: small texts that would take the parser seconds of CPU or its stack.
@Suite struct ApplyFileLimitsTests {
    /// Eight levels of aliases, each naming the one before eight times, the last used as a
    /// mapping key (which Yams hashes whole): 16 million nodes from a few hundred bytes.
    static let aliasBomb: String = {
        var lines = ["a0: &a0 [x, x, x, x, x, x, x, x]"]
        for level in 1...8 {
            let previous = "*a\(level - 1)"
            lines.append("a\(level): &a\(level) [" + Array(repeating: previous, count: 8).joined(separator: ", ") + "]")
        }
        lines.append("apps: {? *a8 : boom}")
        return lines.joined(separator: "\n") + "\n"
    }()

    @Test func anAliasBombIsRefusedAtOnceWithOneLocatedError() throws {
        #expect(Self.aliasBomb.utf8.count < 600)
        let started = ContinuousClock.now
        let error = #expect(throws: BatonError.self) { try ApplyFileParser.parse(Self.aliasBomb, file: "bomb.yml") }
        #expect(ContinuousClock.now - started < .milliseconds(500))
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.hasPrefix("bomb.yml:6:") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("expands to more than 100000 nodes through its aliases") == true)
        #expect(error?.message.contains("\n") == false)
    }

    @Test func nestingBeyondTheLimitIsRefusedBeforeTheRecursiveComposer() throws {
        let deep = "apps: " + String(repeating: "[", count: 500) + String(repeating: "]", count: 500) + "\n"
        let error = #expect(throws: BatonError.self) { try ApplyFileParser.parse(deep, file: "deep.yml") }
        #expect(error?.message.hasPrefix("deep.yml:1:") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("nests deeper than 64 levels") == true)
    }

    @Test func aFileLargerThanTheLimitIsRefusedUnread() throws {
        let large = "apps: {}\n# " + String(repeating: "x", count: 600 << 10) + "\n"
        let error = #expect(throws: BatonError.self) { try ApplyFileParser.parse(large, file: "large.yml") }
        #expect(error?.message == "large.yml: the file is \(large.utf8.count) bytes; an apps file may have at most 524288")
    }

    @Test func anchorsWithinTheLimitStillWork() throws {
        let text = """
            common: &env { LOG_LEVEL: info }
            apps:
              web:
                artifact: web:1
                hosts: [web.test]
                env: *env
              api:
                artifact: api:1
                hosts: [api.test]
                env: *env
            """
        let error = #expect(throws: BatonError.self) { try ApplyFileParser.parse(text, file: "a.yml") }
        // The only complaint is the dialect's own: no top-level key but 'apps'.
        #expect(error?.message.hasPrefix("a.yml:1:1: unknown key 'common'") == true, "\(error?.message ?? "")")
        let file = try ApplyFileParser.parse(String(text.drop { $0 != "\n" }.dropFirst()).replacingOccurrences(of: "*env", with: "{ LOG_LEVEL: info }"), file: "a.yml")
        #expect(file.apps.map(\.spec.env) == [["LOG_LEVEL=info"], ["LOG_LEVEL=info"]])
    }
}
