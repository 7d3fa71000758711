import Glibc

/// systemd's two protocols for a service, without libsystemd: socket activation (the listening
/// sockets arrive as descriptors 3 and up, described by LISTEN_* variables) and sd_notify (one
/// datagram of newline-separated assignments to $NOTIFY_SOCKET).
public enum ServiceManager {
    /// The first descriptor systemd passes (SD_LISTEN_FDS_START).
    private static let firstInherited: Int32 = 3
    /// More than any unit configures; a larger count is a corrupt variable, not sockets.
    private static let inheritedLimit = 4096

    /// The sockets systemd passed by socket activation: LISTEN_PID must equal getpid(); LISTEN_FDS=n gives fds 3..<3+n, LISTEN_FDNAMES their ':'-separated names. Each is made close-on-exec and the three variables are unset, so children never see them. Empty when not activated.
    /// Changes the environment: call it at start, before other threads read it.
    public static func inheritedSockets() -> [(fd: Int32, name: String?)] {
        let variables = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"]
        let values = variables.map { getenv($0).map { String(cString: $0) } }
        // Unset even when they name another process: they were never meant for our children.
        variables.forEach { unsetenv($0) }
        let sockets = inheritedSockets(listenPID: values[0], listenFDs: values[1], names: values[2], pid: getpid())
        return sockets.filter { socket in
            let flags = fcntl(socket.fd, F_GETFD)
            // A descriptor closed before we ran is not ours to hand out under that number.
            guard flags >= 0 else { return false }
            _ = fcntl(socket.fd, F_SETFD, flags | FD_CLOEXEC)
            return true
        }
    }

    /// The same from explicit values (pure; for tests).
    public static func inheritedSockets(listenPID: String?, listenFDs: String?, names: String?, pid: Int32) -> [(fd: Int32, name: String?)] {
        guard let listenPID, let owner = Int32(listenPID), owner == pid,
              let listenFDs, let count = Int(listenFDs), (1...inheritedLimit).contains(count)
        else { return [] }
        let given = names.map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) } ?? []
        return (0..<count).map { index in
            let name = index < given.count && !given[index].isEmpty ? given[index] : nil
            return (fd: firstInherited + Int32(index), name: name)
        }
    }

    /// sd_notify: sends `state` (e.g. "READY=1", "MAINPID=123\nREADY=1", "RELOADING=1\nMONOTONIC_USEC=…", "STOPPING=1") as one datagram to `socketPath` (default $NOTIFY_SOCKET; a leading '@' is the abstract namespace). Best effort: false when unset or it failed.
    @discardableResult
    public static func notify(_ state: String, socketPath: String? = nil) -> Bool {
        guard let path = socketPath ?? getenv("NOTIFY_SOCKET").map({ String(cString: $0) }),
              path.hasPrefix("/") || path.hasPrefix("@")
        else { return false }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        // A path needs its terminating NUL inside sun_path; an abstract name is counted exactly.
        guard bytes.count + (abstract ? 0 : 1) <= MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))

        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let message = Array(state.utf8)
        let sent = try? sys("sendto \(path)") {
            message.withUnsafeBytes { payload in
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, payload.baseAddress, payload.count, Int32(MSG_NOSIGNAL), $0, length)
                    }
                }
            }
        }
        return sent == message.count
    }

    /// CLOCK_MONOTONIC in microseconds, for RELOADING=1's MONOTONIC_USEC.
    public static var monotonicMicroseconds: UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
    }
}
