import BatonOS
import Foundation
import Testing

/// The hand-written JSON must read back, through JSONDecoder, as exactly the strings written.
@Suite struct JSONTextTests {
    static let awkward = [
        "", "plain", "quote \" inside", "back\\slash", "line\nbreak", "tab\tand\rreturn", "nul \u{0} byte",
        "bell \u{7} and escape \u{1b}", "unit separator \u{1f}", "delete \u{7f}", "slash / path", "é ü ß 字 🚀",
        "A=1", "PATH=/usr/bin:/bin", "\u{2028}\u{2029} separators",
    ]

    @Test(arguments: awkward) func aStringReadsBackUnchanged(_ value: String) throws {
        let text = "[" + JSONText.string(value) + "]"
        let decoded = try JSONDecoder().decode([String].self, from: Data(text.utf8))
        #expect(decoded == [value])
    }

    @Test func anArrayReadsBackInOrder() throws {
        let decoded = try JSONDecoder().decode([String].self, from: Data(JSONText.array(Self.awkward).utf8))
        #expect(decoded == Self.awkward)
        #expect(JSONText.array([]) == "[]")
    }

    @Test func controlCharactersAreEscapedNotWritten() {
        let text = JSONText.string("a\u{1}b\u{1f}c")
        #expect(text == "\"a\\u0001b\\u001fc\"")
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 })
    }
}
