/// JSON text for the few small records written on hot paths, where JSONEncoder's generic
/// machinery costs more than the write itself. Strings are escaped per RFC 8259: quote,
/// backslash and every control character; everything else is written as UTF-8.
public enum JSONText {
    public static func string(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = Array("0123456789abcdef".unicodeScalars)
                out += "\\u00"
                out.unicodeScalars.append(hex[Int(scalar.value >> 4)])
                out.unicodeScalars.append(hex[Int(scalar.value & 15)])
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    public static func array(_ values: [String]) -> String {
        "[" + values.map(string).joinedPlain(separator: ",") + "]"
    }
}
