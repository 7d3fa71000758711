/// The host directories a sandbox may ever see: the host's programs and libraries, bound
/// read-only for artifacts published with `--base host`. No data, configuration or state
/// directory is ever among them. The store grants from this set; the launcher refuses anything
/// outside it, whoever asks.
public enum HostDirectories {
    public static let bindable: Set<String> = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]
}
