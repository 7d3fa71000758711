/// `sha256:` and the first 12 hex digits: how tables and messages show a digest.
public func shortDigest(_ digest: String) -> String {
    let prefix = "sha256:"
    guard digest.hasPrefix(prefix) else { return digest }
    return prefix + digest.dropFirst(prefix.count).prefix(12)
}
