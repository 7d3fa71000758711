/// A tar entry's path checked against escape: relative, no `..`, split into components.
/// `.` and empty components are dropped, so `./a//b` is `a/b` and `./` is the layer root.
struct EntryPath: CustomStringConvertible {
    let components: [String]

    enum Problem: Error {
        case absolute, parentReference, tooLong
    }

    init(_ text: String) throws(Problem) {
        if text.hasPrefix("/") { throw .absolute }
        if text.utf8.count > 4096 { throw .tooLong }
        var components: [String] = []
        for part in text.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { throw .parentReference }
            components.append(String(part))
        }
        self.components = components
    }

    var isRoot: Bool { components.isEmpty }
    var name: String { components.last ?? "." }
    var parent: ArraySlice<String> { components.dropLast() }
    var description: String { components.isEmpty ? "." : components.joined(separator: "/") }
}
