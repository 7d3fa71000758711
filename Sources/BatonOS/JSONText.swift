/// JSON text for the few records written on hot paths (the proxy's access log, a sandbox's
/// record), where JSONEncoder's generic machinery costs more than the write itself. Strings
/// are escaped per RFC 8259: quote, backslash and every control character; everything else is
/// written as UTF-8.
public enum JSONText {
    public static func string(_ value: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count + 2)
        append(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    public static func array(_ values: [String]) -> String {
        "[" + values.map(string).joinedPlain(separator: ",") + "]"
    }

    /// Appends `value` as a JSON string literal.
    @inlinable
    public static func append(_ value: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        escape(value) { out.append(contentsOf: $0) }
        out.append(UInt8(ascii: "\""))
    }

    /// Hands `emit` the inside of `value` as a JSON string literal, in pieces: each run that
    /// needs no escape whole, each escape sequence on its own. At most six bytes per byte of
    /// `value` (`\u00XX`), for a writer that sizes its region first.
    @inlinable
    public static func escape(_ value: String, _ emit: (UnsafeBufferPointer<UInt8>) -> Void) {
        var value = value
        value.withUTF8 { bytes in
            var clean = bytes.startIndex
            for index in bytes.indices {
                let byte = bytes[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                emit(UnsafeBufferPointer(rebasing: bytes[clean..<index]))
                clean = index + 1
                let hex: StaticString = "0123456789abcdef"
                var sequence: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (UInt8(ascii: "\\"), byte, 0, 0, 0, 0)
                var count = 2
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): break
                case UInt8(ascii: "\n"): sequence.1 = UInt8(ascii: "n")
                case UInt8(ascii: "\r"): sequence.1 = UInt8(ascii: "r")
                case UInt8(ascii: "\t"): sequence.1 = UInt8(ascii: "t")
                default:
                    sequence = (UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                hex.utf8Start[Int(byte >> 4)], hex.utf8Start[Int(byte & 0xF)])
                    count = 6
                }
                withUnsafeBytes(of: &sequence) { raw in
                    emit(UnsafeBufferPointer(start: raw.baseAddress!.assumingMemoryBound(to: UInt8.self), count: count))
                }
            }
            emit(UnsafeBufferPointer(rebasing: bytes[clean...]))
        }
    }
}
