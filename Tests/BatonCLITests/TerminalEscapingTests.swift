@testable import BatonCLI
import Testing

/// App output shown on a terminal: control sequences become visible text.
@Suite struct TerminalEscapingTests {
    private func escaped(_ bytes: [UInt8]) -> String {
        var escaping = TerminalEscaping()
        return String(decoding: escaping.escape(bytes, final: true), as: UTF8.self)
    }

    @Test func aTitleChangeAndAScreenClearAreShownNotObeyed() {
        #expect(TerminalEscaping.escape("\u{1B}]0;owned\u{07}ok\u{1B}[2J") == "\\x1b]0;owned\\x07ok\\x1b[2J")
    }

    @Test func everyControlButTabAndNewlineIsEscaped() {
        #expect(escaped([0x00, 0x08, 0x09, 0x0A, 0x0D, 0x7F]) == "\\x00\\x08\t\n\\x0d\\x7f")
        // C1 as UTF-8 (U+009B, CSI) and as a raw byte (what 8-bit terminals read as CSI).
        #expect(escaped([0xC2, 0x9B, 0x32, 0x4A]) == "\\xc2\\x9b2J")
        #expect(escaped([0x9B, 0x32, 0x4A]) == "\\x9b2J")
    }

    @Test func textIsLeftAsItIs() {
        #expect(TerminalEscaping.escape("héllo ✓ \u{1F600} \u{A0}") == "héllo ✓ \u{1F600} \u{A0}")
        // Overlong and surrogate forms are not text.
        #expect(escaped([0xC0, 0xAF, 0xED, 0xA0, 0x80]) == "\\xc0\\xaf\\xed\\xa0\\x80")
    }

    @Test func aCharacterSplitAcrossChunksIsKeptWhole() {
        var escaping = TerminalEscaping()
        let first = escaping.escape([0x61, 0xC3])
        let second = escaping.escape([0xA9, 0x62])
        #expect(String(decoding: first + second, as: UTF8.self) == "aéb")
        var cut = TerminalEscaping()
        #expect(String(decoding: cut.escape([0x61, 0xE2, 0x9C]) + cut.escape([], final: true), as: UTF8.self) == "a\\xe2\\x9c")
    }
}
