import Foundation
import Glibc
import NIOCore

/// The process on the other end of a Unix socket, from SO_PEERCRED (`struct ucred`'s layout;
/// Glibc hides the C type behind _GNU_SOURCE).
struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0

    static let option = SocketOptionName(17)  // SO_PEERCRED on Linux

    /// The peer of `channel`, asked from the kernel.
    static func of(_ channel: any Channel) -> EventLoopFuture<PeerCredentials> {
        guard let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeFailedFuture(ChannelError.operationUnsupported)
        }
        return provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_SOCKET), name: option)
    }

    /// Root, or a member (primary or supplementary) of `group`.
    func isAllowed(group: gid_t) -> Bool {
        if uid == 0 || gid == group { return true }
        return supplementaryGroups().contains(group)
    }

    private func supplementaryGroups() -> [gid_t] {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Groups:") })
        else { return [] }
        return line.dropFirst("Groups:".count).split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { gid_t($0) }
    }
}
