/// One file an export writes, its path relative to the output directory.
public struct ExportFile: Sendable, Equatable {
    public var path: String
    public var text: String

    public init(path: String, text: String) {
        self.path = path
        self.text = text
    }
}
