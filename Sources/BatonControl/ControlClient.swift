import BatonOS
import FoundationEssentials
import Glibc

/// The CLI's way to the daemon: one blocking HTTP/1.1 exchange per call over the Unix socket,
/// or over ssh to `baton dial-stdio` on a remote host (`RemoteHost`), with no NIO. Failures
/// come back as `BatonError`s carrying the daemon's message.
public struct ControlClient: Sendable {
    public let socketPath: String
    /// Set when the daemon is on another host; `socketPath` is then unused here.
    public let remote: RemoteHost?

    /// How long connecting waits for a daemon that is starting (see `startWait`): zero here,
    /// `ControlClient.startWait` for the command line.
    public let connectWait: Duration

    public init(socketPath: String, connectWait: Duration = .zero) {
        self.socketPath = socketPath
        remote = nil
        self.connectWait = connectWait
    }

    public init(remote: RemoteHost) {
        socketPath = remote.remoteSocket ?? ""
        self.remote = remote
        connectWait = .zero
    }

    /// How messages name the daemon: its socket, or the remote host.
    public var daemonName: String { remote.map(\.description) ?? socketPath }

    /// The socket of the daemon serving `root`.
    public static func socketPath(root: String) -> String { root + "/baton.sock" }

    public func createApp(_ spec: AppSpec) throws -> AppInfo {
        try decode(AppInfo.self, try call("POST", "/v1/apps", body: try ControlJSON.encoder().encode(spec)))
    }

    /// Replaces the settings and hosts of the app `spec.name` names; its kind cannot change.
    public func updateApp(_ spec: AppSpec) throws -> AppInfo {
        try decode(AppInfo.self, try call("PATCH", "/v1/apps/" + Self.escape(spec.name), body: try ControlJSON.encoder().encode(spec)))
    }

    public func listApps() throws -> [AppInfo] {
        try decode([AppInfo].self, try call("GET", "/v1/apps"))
    }

    public func app(named name: String) throws -> AppInfo {
        try decode(AppInfo.self, try call("GET", "/v1/apps/" + Self.escape(name)))
    }

    /// Removes the app; its volumes stay (see `removeApp(named:volumes:)`).
    public func removeApp(named name: String) throws {
        try removeApp(named: name, volumes: false)
    }

    /// Prometheus text of the daemon's metrics.
    public func metrics() throws -> String {
        String(decoding: try call("GET", "/metrics"), as: UTF8.self)
    }

    /// How long a reply may take. Swaps wait out health checks and a drain, so they get
    /// `swapReplySeconds`; everything else gets the shorter one, so a stuck daemon is reported.
    public static let replySeconds = 120
    public static let swapReplySeconds = 900
    /// The largest reply read (a remote host is a peer, not trusted to stop).
    public static let maxReply = 256 << 20

    /// Sends one request; returns the body of a 2xx reply, throws the daemon's error otherwise.
    /// A request the daemon held while it handed over to a successor, and never ran, is sent
    /// again once: to the successor, which has the socket by then.
    public func call(_ method: String, _ path: String, body: Data = Data(), replySeconds: Int = Self.replySeconds) throws -> Data {
        let send = {
            try exchange(method, path, contentType: "application/json", length: Int64(body.count), replySeconds: replySeconds) { fd in
                try writeAll(fd, body)
            }
        }
        do {
            return try send()
        } catch is HandedOver {
            do {
                return try send()
            } catch is HandedOver {
                throw BatonError(.unavailable, "the daemon at \(daemonName) was handed over twice while the request waited: run it again")
            }
        }
    }

    /// The reply header of a request the daemon did not run because it handed over meanwhile.
    public static let handedOverHeader = "Baton-Handed-Over"

    private struct HandedOver: Error {}

    /// Sends `length` bytes read from `file` as the body (a blob: never whole in memory).
    public func upload(_ method: String, _ path: String, file: Int32, length: Int64, replySeconds: Int = Self.replySeconds) throws -> Data {
        try exchange(method, path, contentType: "application/octet-stream", length: length, replySeconds: replySeconds) { fd in
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            var left = length
            while left > 0 {
                let count = buffer.withUnsafeMutableBytes { read(file, $0.baseAddress, min($0.count, Int(left))) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { throw BatonError(.internal, "reading the body to send: \(count == 0 ? "file shorter than \(length) bytes" : String(cString: strerror(errno)))") }
                try writeAll(fd, Data(buffer[..<count]))
                left -= Int64(count)
            }
        }
    }

    private func exchange(_ method: String, _ path: String, contentType: String, length: Int64, replySeconds: Int,
                          body: (Int32) throws -> Void) throws -> Data {
        let connection = try open(replySeconds: replySeconds)
        defer { connection.close() }
        let fd = connection.fd
        var request = "\(method) \(path) HTTP/1.1\r\nHost: baton\r\nConnection: close\r\n"
        request += "Content-Type: \(contentType)\r\nContent-Length: \(length)\r\n\r\n"
        do {
            try writeAll(fd, Data(request.utf8))
            try body(fd)
        } catch let error as BatonError where error.code == .unavailable {
            // The daemon may have answered early (a refusal) and closed: read what it said.
        }
        let reply = try readAll(fd)
        guard let headEnd = Self.headEnd(reply),
            let statusLine = String(validating: reply.prefix(headEnd), as: UTF8.self)?.split(separator: "\r\n").first,
            let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "")
        else {
            throw BatonError(.internal, "the daemon at \(daemonName) sent a reply that is not HTTP")
        }
        let payload = reply.dropFirst(headEnd + 4)
        if (200..<300).contains(status) { return Data(payload) }
        if status == 503, String(decoding: reply.prefix(headEnd), as: UTF8.self).lowercased().contains("\r\n\(Self.handedOverHeader.lowercased()):") {
            throw HandedOver()
        }
        if let error = try? ControlJSON.decoder().decode(ControlErrorBody.self, from: Data(payload)) {
            throw BatonError(BatonError.Code(rawValue: error.code) ?? .internal, error.error)
        }
        throw BatonError(.internal, "the daemon answered \(status)")
    }

    func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws -> T {
        do {
            return try ControlJSON.decoder().decode(type, from: data)
        } catch {
            throw BatonError(.internal, "cannot read the daemon's reply: \(error)")
        }
    }

    private var unavailable: BatonError {
        if let remote { return BatonError(.unavailable, "the connection to \(remote) ended before the daemon answered") }
        return BatonError(.unavailable, "no daemon at \(socketPath): start one with 'baton daemon'")
    }

    /// One connection: the local socket, or ssh to the remote host's `baton dial-stdio`.
    private struct Connection {
        let fd: Int32
        let ssh: SSHConnection?

        func close() {
            if let ssh { ssh.finish() } else { Glibc.close(fd) }
        }
    }

    private func open(replySeconds: Int) throws -> Connection {
        if let remote {
            let ssh = try SSHConnection.open(remote, replySeconds: replySeconds)
            return Connection(fd: ssh.fd, ssh: ssh)
        }
        return Connection(fd: try connectSocket(replySeconds: replySeconds), ssh: nil)
    }

    /// A connected descriptor to the local control socket, with no reply deadline
    /// (`baton dial-stdio` relays whatever the remote client sends over it).
    public func connectLocal() throws -> Int32 {
        try connectSocket(replySeconds: 0)
    }

    /// How long a command waits for a daemon that is starting: its socket is not there yet, or
    /// refuses (bound, not yet listening), so `baton daemon … & baton app create …` works as
    /// written. When no daemon is starting, the error comes after this wait.
    public static let startWait: Duration = .seconds(5)
    static let startPoll: Duration = .milliseconds(50)

    private func connectSocket(replySeconds: Int) throws -> Int32 {
        let deadline = ContinuousClock.now + connectWait
        while true {
            do {
                return try connectSocketOnce(replySeconds: replySeconds)
            } catch let refused as NotListening {
                guard ContinuousClock.now < deadline else { throw refused.error }
                let (seconds, attoseconds) = Self.startPoll.components
                usleep(useconds_t(seconds * 1_000_000 + attoseconds / 1_000_000_000_000))
            }
        }
    }

    /// No daemon listens on the socket yet (ENOENT, ECONNREFUSED): worth another try.
    private struct NotListening: Error {
        let error: BatonError
    }

    private func connectSocketOnce(replySeconds: Int) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw BatonError(.internal, "socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw BatonError(.invalidArgument, "socket path too long: \(socketPath)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        if replySeconds > 0 {
            var timeout = timeval(tv_sec: replySeconds, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if result != 0 {
            let code = errno
            close(fd)
            if code == EACCES || code == EPERM {
                throw BatonError(.unavailable, "permission denied on \(socketPath): run as root or as a member of its group")
            }
            if code == ENOENT || code == ECONNREFUSED { throw NotListening(error: unavailable) }
            throw unavailable
        }
        return fd
    }

    private func writeAll(_ fd: Int32, _ data: Data) throws {
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if written < 0 {
                    if errno == EINTR { continue }
                    throw unavailable
                }
                offset += written
            }
        }
    }

    private func readAll(_ fd: Int32) throws -> Data {
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { return data }
            if count < 0 {
                if errno == EINTR { continue }
                if data.isEmpty { throw unavailable }
                return data
            }
            data.append(contentsOf: chunk[0..<count])
            // A reply is JSON of lists or a log piece; a peer sending more is not a daemon.
            guard data.count <= Self.maxReply else {
                throw BatonError(.corrupt, "the daemon at \(daemonName) sent a reply larger than \(Self.maxReply) bytes")
            }
        }
    }

    /// Where the reply's head ends: the offset of its blank line's "\r\n\r\n".
    static func headEnd(_ reply: Data) -> Int? {
        reply.withUnsafeBytes { bytes in
            guard bytes.count >= 4 else { return nil }
            return (0...(bytes.count - 4)).first { bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 && bytes[$0 + 3] == 10 }
        }
    }

    /// A name as one path segment: ASCII letters, digits and "-._" stay, every other byte is %XX.
    static func escape(_ name: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var escaped = ""
        for byte in name.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"):
                escaped.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                escaped += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
            }
        }
        return escaped
    }
}
