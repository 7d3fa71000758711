/// Text from a Batonfile or a RUN's output made safe for the operator's terminal: control
/// characters (but tab) and C1 controls shown as `?`, so no escape sequence reaches it.
enum PrintableText {
    static func of(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map {
            ($0.value < 0x20 && $0 != "\t") || (0x7f...0x9f).contains($0.value) ? "?" : $0
        }))
    }
}
