import BatonOS
import Glibc

/// A daemon on another machine, reached as `ssh://[USER@]HOST[:PORT]` (`--host`, `BATON_HOST`):
/// the OpenSSH client runs `baton dial-stdio` there and the control protocol flows over its
/// stdin and stdout. The user's own ssh (keys, config, known_hosts) decides who may connect.
public struct RemoteHost: Sendable, Equatable, CustomStringConvertible {
    public let user: String?
    public let host: String
    public let port: Int?
    /// `--root` / `--socket` given on this side name the remote daemon's; nil lets the remote
    /// `baton dial-stdio` choose its default (its `$BATON_ROOT` or /var/lib/baton).
    public var remoteRoot: String?
    public var remoteSocket: String?

    /// Parses `ssh://[USER@]HOST[:PORT]`. Anything else (another scheme, a path, an option
    /// smuggled in as a host name) is refused, naming the form.
    public init(parsing text: String) throws(BatonError) {
        let form = "give ssh://[USER@]HOST[:PORT]"
        guard text.hasPrefix("ssh://") else {
            throw BatonError(.invalidArgument, "'\(text)' is not a remote host: \(form) (only ssh:// is supported)")
        }
        var rest = Substring(text.dropFirst("ssh://".count))
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        var user: String?
        if let at = rest.lastIndex(of: "@") {
            user = String(rest[..<at])
            rest = rest[rest.index(after: at)...]
        }
        var port: Int?
        var host: String
        if rest.hasPrefix("[") {
            // An IPv6 literal: [::1] or [::1]:2222.
            guard let close = rest.firstIndex(of: "]") else { throw BatonError(.invalidArgument, "'\(text)': unclosed '[' in the host: \(form)") }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw BatonError(.invalidArgument, "'\(text)': \(form)") }
                port = try Self.port(after.dropFirst(), text)
            }
            guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                throw BatonError(.invalidArgument, "'\(text)': '\(host)' is not an IPv6 address: \(form)")
            }
        } else {
            if let colon = rest.lastIndex(of: ":") {
                port = try Self.port(rest[rest.index(after: colon)...], text)
                rest = rest[..<colon]
            }
            host = String(rest)
            guard Self.isName(host) else {
                throw BatonError(.invalidArgument, "'\(text)': '\(host)' is not a host name (letters, digits, '.', '-', '_'): \(form)")
            }
        }
        if let user, !Self.isName(user) {
            throw BatonError(.invalidArgument, "'\(text)': '\(user)' is not a user name (letters, digits, '.', '-', '_'): \(form)")
        }
        self.user = user
        self.host = host
        self.port = port
    }

    /// How messages name it: `ssh://user@host:port` as given.
    public var description: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return "ssh://" + (user.map { $0 + "@" } ?? "") + name + (port.map { ":\($0)" } ?? "")
    }

    /// Letters, digits, '.', '-', '_', not starting with '-' (ssh would read an option).
    private static func isName(_ text: String) -> Bool {
        guard let first = text.utf8.first, first != UInt8(ascii: "-"), text.utf8.count <= 253 else { return false }
        return text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"):
                return true
            default:
                return false
            }
        }
    }

    private static func port(_ text: Substring, _ whole: String) throws(BatonError) -> Int {
        guard let port = Int(text), (1...65535).contains(port) else {
            throw BatonError(.invalidArgument, "'\(whole)': port '\(text)' is not a number from 1 to 65535")
        }
        return port
    }

    /// The command line of the ssh client: `$BATON_SSH_COMMAND` (split at spaces, no quoting)
    /// or `ssh`, then Baton's own options, the destination and the remote command.
    public func sshArguments(environment sshCommand: String? = getenv("BATON_SSH_COMMAND").map { String(cString: $0) }) -> [String] {
        var arguments = (sshCommand?.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)).flatMap { $0.isEmpty ? nil : $0 } ?? ["ssh"]
        // No terminal: the channel carries bytes. A bounded wait for the TCP connection, so a
        // host that does not answer is reported instead of hanging the command.
        arguments += ["-T", "-o", "ConnectTimeout=\(Self.connectTimeoutSeconds)"]
        if let port { arguments += ["-p", String(port)] }
        if let user { arguments += ["-l", user] }
        arguments += ["--", host, remoteCommand]
        return arguments
    }

    public static let connectTimeoutSeconds = 10

    /// What the remote shell runs: `baton dial-stdio`, with the root or socket named here,
    /// each word single-quoted for the remote user's shell.
    public var remoteCommand: String {
        var words = ["baton", "dial-stdio"]
        if let remoteRoot { words += ["--root", remoteRoot] }
        if let remoteSocket { words += ["--socket", remoteSocket] }
        return words.map(Self.shellQuoted).joined(separator: " ")
    }

    static func shellQuoted(_ word: String) -> String {
        let plain = !word.isEmpty && word.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || Array("/._-".utf8).contains(byte)
        }
        if plain { return word }
        return "'" + word.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }
}
