import BatonOS
import Glibc

/// What `baton dial-stdio` writes before anything else: a word and the control protocol it
/// relays, so a client can tell a remote Baton of another release (or something that is not
/// Baton at all) from a daemon's reply.
public enum DialStdioBanner {
    public static let word = "baton-dial-stdio"
    /// Raised when the control API changes in a way an older client or daemon cannot follow.
    public static let protocolVersion = 1

    public static func line(version: String) -> String { "\(word) \(protocolVersion) \(version)\n" }
}

/// One control exchange with a remote daemon: the OpenSSH client runs `baton dial-stdio` on the
/// host, with its stdin and stdout one end of a socket pair whose other end is ours, so the
/// HTTP exchange reads and writes a socket exactly as it does on the local control socket.
/// ssh's stderr goes to a second socket pair: its last line is what a failure reports.
final class SSHConnection {
    let fd: Int32
    private let pid: pid_t
    private let stderrFD: Int32
    private var finished = false
    private var timedOut = false

    private init(fd: Int32, pid: pid_t, stderrFD: Int32) {
        self.fd = fd
        self.pid = pid
        self.stderrFD = stderrFD
    }

    deinit {
        _ = finish()
        close(stderrFD)
    }

    /// Starts ssh and waits for dial-stdio's banner; throws one `BatonError` naming the host
    /// and what went wrong (ssh's own reason, a missing or older Baton, no daemon there).
    static func open(_ remote: RemoteHost, replySeconds: Int) throws -> SSHConnection {
        var pair: [Int32] = [-1, -1]
        try sys("socketpair") { socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) }
        var errPipe: [Int32] = [-1, -1]
        do {
            // A socket pair rather than a pipe: it is made close-on-exec in one call.
            try sys("socketpair") { socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &errPipe) }
        } catch {
            close(pair[0]); close(pair[1])
            throw error
        }
        let arguments = remote.sshArguments()
        let pid: pid_t
        do throws(OSError) {
            pid = try ProgramSpawn.start(arguments, stdin: pair[1], stdout: pair[1], stderr: errPipe[1])
        } catch {
            for fd in pair + errPipe { close(fd) }
            throw BatonError(.unavailable, "cannot start '\(arguments[0])' to reach \(remote): \(error.reason) (install the OpenSSH client, or set BATON_SSH_COMMAND)")
        }
        close(pair[1])
        close(errPipe[1])
        let connection = SSHConnection(fd: pair[0], pid: pid, stderrFD: errPipe[0])
        var timeout = timeval(tv_sec: replySeconds, tv_usec: 0)
        setsockopt(connection.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let banner = connection.readLine(limit: 256)
        guard let banner, !banner.isEmpty else {
            throw connection.failure(remote)
        }
        let fields = banner.split(separator: " ")
        guard fields.first.map(String.init) == DialStdioBanner.word, fields.count >= 2 else {
            _ = connection.finish()
            throw BatonError(.unavailable, "\(remote) did not answer as 'baton dial-stdio' (it wrote '\(banner.prefix(80))'): check that 'baton' on the remote PATH is Baton and that the login prints nothing")
        }
        guard fields[1] == String(DialStdioBanner.protocolVersion) else {
            _ = connection.finish()
            let theirs = fields.count >= 3 ? "Baton \(fields[2]), " : ""
            throw BatonError(.unavailable, "\(remote) runs \(theirs)control protocol \(fields[1]); this Baton speaks protocol \(DialStdioBanner.protocolVersion): install the same Baton release on both")
        }
        return connection
    }

    /// Closes our end, waits for ssh and returns its exit status (nil if it was killed).
    @discardableResult
    func finish() -> Int32? {
        guard !finished else { return nil }
        finished = true
        close(fd)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : nil
    }

    /// The error for a remote that ended without a banner, from ssh's exit status and the
    /// last line it (or the remote command) wrote to stderr.
    private func failure(_ remote: RemoteHost) -> BatonError {
        // A banner that never came in time: ssh may be waiting on something (a prompt).
        if timedOut { kill(pid, SIGTERM) }
        let status = finish()
        let stderr = readStderr()
        if timedOut && stderr.isEmpty {
            return BatonError(.timeout, "\(remote) did not answer within the time allowed")
        }
        // "\r\n" is one Character: split on the scalars. The remote's text may carry terminal
        // escapes: control characters are dropped from what is printed.
        let lines = stderr.unicodeScalars.split(whereSeparator: { $0 == "\n" || $0 == "\r" })
            .map { String(String.UnicodeScalarView($0.filter { $0.value >= 0x20 && !(0x7f...0x9f).contains($0.value) })) }
            .map { $0.trimmingPrefix(" ") }.filter { !$0.isEmpty }
        let last = lines.last.map(String.init) ?? "no reason given"
        if status == 255 {
            return BatonError(.unavailable, "cannot reach \(remote) over ssh: \(last)")
        }
        if status == 127 || stderr.contains("baton: command not found") || stderr.contains("baton: not found") {
            return BatonError(.unavailable, "\(remote) has no 'baton' on the ssh user's PATH (\(last)): install Baton there (see docs/remote.md)")
        }
        if stderr.contains("dial-stdio"), stderr.contains("Unexpected argument") || stderr.lowercased().contains("unknown") {
            return BatonError(.unavailable, "\(remote) runs an older Baton without 'baton dial-stdio' (\(last)): install this Baton release there")
        }
        if last.hasPrefix("error: ") {
            return BatonError(.unavailable, "\(remote): \(last.dropFirst("error: ".count))")
        }
        let how = status.map { "exited with status \($0)" } ?? "was killed"
        return BatonError(.unavailable, "'baton dial-stdio' on \(remote) \(how) without answering: \(last)")
    }

    /// What ssh wrote to stderr, read without waiting: a ControlPersist master it started may
    /// keep the pipe open long after this ssh has exited.
    private func readStderr() -> String {
        _ = fcntl(stderrFD, F_SETFL, fcntl(stderrFD, F_GETFL) | O_NONBLOCK)
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 65536 {
            let count = chunk.withUnsafeMutableBytes { read(stderrFD, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// One line from the connection, read byte by byte so nothing after it is consumed; nil
    /// at end of stream or on a timeout.
    private func readLine(limit: Int) -> String? {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while bytes.count < limit {
            let count = recv(fd, &byte, 1, 0)
            if count < 0 && errno == EINTR { continue }
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { timedOut = true }
            if count <= 0 { return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self) }
            if byte == UInt8(ascii: "\n") { break }
            bytes.append(byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
