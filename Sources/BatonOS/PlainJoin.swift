extension Array where Element == String {
    /// The elements with `separator` between them. The standard `joined(separator:)` is
    /// generic over the collection and, unspecialized, looks up a protocol conformance at run
    /// time on first use: a scan of every conformance in the binary, on the sandbox start path.
    public func joinedPlain(separator: String) -> String {
        var result = ""
        for (index, element) in enumerated() {
            if index > 0 { result += separator }
            result += element
        }
        return result
    }
}
