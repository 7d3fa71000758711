import Glibc

/// An app's output on its way to the operator's terminal. The app is untrusted: written raw,
/// its escape sequences would retitle the window, clear the screen, move the cursor over
/// earlier lines or, on some terminals, answer back into the input. Every control byte but
/// tab and newline is written as a visible `\xNN` instead: C0, ESC, DEL, the C1 controls
/// (U+0080-U+009F) and bytes that are not UTF-8, which 8-bit terminals read as C1. Piped
/// output is left raw, as `journalctl` does.
struct TerminalEscaping {
    /// The start of a UTF-8 sequence cut at the end of the last chunk.
    private var pending: [UInt8] = []

    /// Whether `fd` is a terminal, so its output should be escaped.
    static func applies(to fd: Int32) -> Bool { isatty(fd) == 1 }

    /// `line`, escaped, for a terminal.
    static func escape(_ line: String) -> String {
        var escaping = TerminalEscaping()
        return String(decoding: escaping.escape(Array(line.utf8), final: true), as: UTF8.self)
    }

    /// The next chunk of a stream, escaped. A UTF-8 sequence cut at the end of the chunk is
    /// held back for the next one unless `final`.
    mutating func escape(_ chunk: some Collection<UInt8>, final: Bool = false) -> [UInt8] {
        let bytes = pending + chunk
        pending = []
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x09 || byte == 0x0A || (byte >= 0x20 && byte < 0x7F) {
                out.append(byte)
                index += 1
                continue
            }
            let length = Self.sequenceLength(bytes, at: index)
            if length == 0 {
                if !final && Self.mayContinue(bytes, at: index) {
                    pending = Array(bytes[index...])
                    break
                }
                Self.appendEscaped(byte, to: &out)
                index += 1
            } else if length == 2 && byte == 0xC2 && bytes[index + 1] < 0xA0 {
                // U+0080-U+009F: the C1 controls, CSI (U+009B) among them.
                Self.appendEscaped(byte, to: &out)
                Self.appendEscaped(bytes[index + 1], to: &out)
                index += 2
            } else {
                out.append(contentsOf: bytes[index..<index + length])
                index += length
            }
        }
        return out
    }

    private static func appendEscaped(_ byte: UInt8, to out: inout [UInt8]) {
        let digits = Array("0123456789abcdef".utf8)
        out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "x"), digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }

    /// The length of the well-formed multi-byte UTF-8 sequence at `index`, or 0.
    private static func sequenceLength(_ bytes: [UInt8], at index: Int) -> Int {
        guard let (length, second) = lead(bytes[index]), index + length <= bytes.count,
            second.contains(bytes[index + 1]),
            bytes[(index + 2)..<(index + length)].allSatisfy({ $0 & 0xC0 == 0x80 })
        else { return 0 }
        return length
    }

    /// Whether the bytes from `index` to the end are the start of a well-formed sequence.
    private static func mayContinue(_ bytes: [UInt8], at index: Int) -> Bool {
        guard let (length, second) = lead(bytes[index]), bytes.count - index < length else { return false }
        guard index + 1 < bytes.count else { return true }
        return second.contains(bytes[index + 1]) && bytes[(index + 2)...].allSatisfy { $0 & 0xC0 == 0x80 }
    }

    /// For a lead byte: the sequence's length and the range its second byte must fall in
    /// (which excludes overlong forms, surrogates and code points past U+10FFFF).
    private static func lead(_ byte: UInt8) -> (Int, ClosedRange<UInt8>)? {
        switch byte {
        case 0xC2...0xDF: return (2, 0x80...0xBF)
        case 0xE0: return (3, 0xA0...0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: return (3, 0x80...0xBF)
        case 0xED: return (3, 0x80...0x9F)
        case 0xF0: return (4, 0x90...0xBF)
        case 0xF1...0xF3: return (4, 0x80...0xBF)
        case 0xF4: return (4, 0x80...0x8F)
        default: return nil
        }
    }
}
