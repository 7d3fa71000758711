import Glibc

/// Where a listening socket listens: what a daemon hands to its successor is matched against
/// its configuration by this.
public enum ListenAddress: Hashable, Sendable, CustomStringConvertible {
    /// `host` is numeric, as inet_ntop prints it ("127.0.0.1", "::1").
    case tcp(host: String, port: Int)
    /// A filesystem path, or "@name" in the abstract namespace.
    case unix(path: String)

    public var description: String {
        switch self {
        case .tcp(let host, let port) where host.contains(":"): "[\(host)]:\(port)"
        case .tcp(let host, let port): "\(host):\(port)"
        case .unix(let path): path
        }
    }
}

/// Listening sockets made before any event loop exists, so that they can be inherited (systemd,
/// a predecessor daemon) or handed on; an event loop adopts them as they are.
public enum ListeningSocket {
    /// A listening, close-on-exec TCP socket on host:port (numeric IPv4/IPv6 or a name /etc/hosts resolves, via getaddrinfo AI_PASSIVE|AI_NUMERICSERV; first address that binds), SO_REUSEADDR, backlog 1024. Port 0 picks a free one. Errors name "bind 127.0.0.1:8080" with errno (EADDRINUSE etc.).
    public static func tcp(host: String, port: Int, backlog: Int32 = 1024) throws(OSError) -> Int32 {
        let candidates = try resolve(host: host, port: port)
        var firstFailure: OSError?
        for (address, bytes) in candidates {
            do {
                return try listen(on: address, sockaddr: bytes, backlog: backlog)
            } catch {
                if firstFailure == nil { firstFailure = error }
            }
        }
        throw firstFailure ?? OSError("bind \(host):\(port)", errno: EADDRNOTAVAIL)
    }

    /// A listening close-on-exec Unix stream socket at `path`; an existing *socket* file there is replaced; anything else there is refused (EEXIST).
    public static func unix(path: String, backlog: Int32 = 1024) throws(OSError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, !bytes.contains(0), bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw OSError("bind \(path)", errno: bytes.isEmpty || bytes.contains(0) ? EINVAL : ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        var status = stat()
        if lstat(path, &status) == 0 {
            // A socket file outlives its listener; anything else there is not ours to remove.
            guard status.st_mode & S_IFMT == S_IFSOCK else { throw OSError("bind \(path)", errno: EEXIST) }
            try sys("unlink \(path)") { Glibc.unlink(path) }
        }
        let length = MemoryLayout<sa_family_t>.size + bytes.count + 1
        let raw = withUnsafeBytes(of: &address) { Array($0[..<length]) }
        return try listen(on: .unix(path: path), sockaddr: raw, backlog: backlog)
    }

    /// What `fd` listens on; nil unless it is a listening (SO_ACCEPTCONN) stream socket.
    public static func address(of fd: Int32) -> ListenAddress? {
        guard option(fd, SO_ACCEPTCONN) == 1, option(fd, SO_TYPE) == Int32(SOCK_STREAM.rawValue) else { return nil }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { return nil }
        return withUnsafeBytes(of: &storage) { listenAddress(Array($0[..<Int(length)])) }
    }

    /// The numeric addresses `host:port` names (getaddrinfo, AI_PASSIVE|AI_NUMERICSERV), to match against `address(of:)`.
    public static func addresses(host: String, port: Int) -> [ListenAddress] {
        var seen = Set<ListenAddress>()
        return ((try? resolve(host: host, port: port)) ?? []).map(\.0).filter { seen.insert($0).inserted }
    }

    /// socket, SO_REUSEADDR for TCP (a successor binds while the old connections linger in
    /// TIME_WAIT), bind, listen; errors name `bind ADDRESS`.
    private static func listen(on address: ListenAddress, sockaddr bytes: [UInt8], backlog: Int32) throws(OSError) -> Int32 {
        let family = Int32(bytes.withUnsafeBytes { $0.load(as: sa_family_t.self) })
        let fd = try sys("socket \(address)") { socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        do {
            if family != AF_UNIX {
                var on: Int32 = 1
                try sys("setsockopt SO_REUSEADDR \(address)") {
                    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
                }
            }
            try sys("bind \(address)") {
                bytes.withUnsafeBytes { raw in
                    raw.withMemoryRebound(to: sockaddr.self) { bind(fd, $0.baseAddress, socklen_t(raw.count)) }
                }
            }
            try sys("listen \(address)") { Glibc.listen(fd, backlog) }
            return fd
        } catch {
            close(fd)
            throw error
        }
    }

    /// The stream addresses getaddrinfo gives for `host:port`, each with its raw sockaddr.
    private static func resolve(host: String, port: Int) throws(OSError) -> [(ListenAddress, [UInt8])] {
        guard (0...65535).contains(port) else { throw OSError("bind \(host):\(port)", errno: EINVAL) }
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let code = getaddrinfo(host, String(port), &hints, &list)
        guard code == 0 else {
            // getaddrinfo has its own codes; the text says what failed, the errno what kind.
            let failure = code == EAI_SYSTEM ? errno : EADDRNOTAVAIL
            throw OSError("getaddrinfo \(host): \(String(cString: gai_strerror(code)))", errno: failure)
        }
        defer { freeaddrinfo(list) }
        var found: [(ListenAddress, [UInt8])] = []
        var entry = list
        while let current = entry?.pointee {
            if let pointer = current.ai_addr {
                let raw = Array(UnsafeRawBufferPointer(start: pointer, count: Int(current.ai_addrlen)))
                if let address = listenAddress(raw) { found.append((address, raw)) }
            }
            entry = current.ai_next
        }
        guard !found.isEmpty else { throw OSError("getaddrinfo \(host)", errno: EADDRNOTAVAIL) }
        return found
    }

    /// A sockaddr's numeric form: IPv4, IPv6 or a Unix path ("@name" when abstract).
    private static func listenAddress(_ raw: [UInt8]) -> ListenAddress? {
        guard raw.count >= MemoryLayout<sa_family_t>.size else { return nil }
        let family = Int32(raw.withUnsafeBytes { $0.load(as: sa_family_t.self) })
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        switch family {
        case AF_INET where raw.count >= MemoryLayout<sockaddr_in>.size:
            var address = sockaddr_in()
            withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: raw[..<MemoryLayout<sockaddr_in>.size]) }
            guard inet_ntop(AF_INET, &address.sin_addr, &text, socklen_t(text.count)) != nil else { return nil }
            return .tcp(host: String(cString: text), port: Int(UInt16(bigEndian: address.sin_port)))
        case AF_INET6 where raw.count >= MemoryLayout<sockaddr_in6>.size:
            var address = sockaddr_in6()
            withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: raw[..<MemoryLayout<sockaddr_in6>.size]) }
            guard inet_ntop(AF_INET6, &address.sin6_addr, &text, socklen_t(text.count)) != nil else { return nil }
            return .tcp(host: String(cString: text), port: Int(UInt16(bigEndian: address.sin6_port)))
        case AF_UNIX:
            var path = Array(raw.dropFirst(MemoryLayout<sa_family_t>.size))
            if path.first == 0 { return .unix(path: "@" + String(decoding: path.dropFirst(), as: UTF8.self)) }
            if let end = path.firstIndex(of: 0) { path.removeSubrange(end...) }
            return .unix(path: String(decoding: path, as: UTF8.self))
        default:
            return nil
        }
    }

    /// An integer SOL_SOCKET option of `fd`; nil if it is not a socket.
    private static func option(_ fd: Int32, _ name: Int32) -> Int32? {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, name, &value, &length) == 0 ? value : nil
    }
}
