import BatonOS
import BatonSandbox
import Glibc

/// Which sandbox holds which address: one file per address, `leases/<ip>` in the root's runtime
/// directory (RuntimeDirectory: tmpfs, as long-lived as the sandboxes themselves), made
/// with O_EXCL (so the daemon and `baton run` never hand out one address twice) and holding
/// the sandbox's id and its egress rules (`EgressRule`), which releasing it takes out of the
/// firewall again. A lease whose sandbox no longer runs is stale and taken back.
public struct AddressLeases: Sendable {
    public let root: String
    public let settings: NetworkSettings

    public init(root: String, settings: NetworkSettings) {
        self.root = root
        self.settings = settings
    }

    var directory: String { RuntimeDirectory.path(root: root) + "/leases" }

    public struct Lease: Sendable, Equatable {
        public let address: IPv4Address
        public let sandbox: String
        public let egress: [EgressRule]
    }

    /// An address for sandbox `id`, recorded with its egress rules.
    public func claim(for id: String, egress: [EgressRule]) throws -> Lease {
        _ = try RuntimeDirectory.subdirectory("leases", root: root)
        let text = ([id] + egress.map(\.description)).joinedPlain(separator: "\n") + "\n"
        for pass in 0..<2 {
            let taken = Set(((try? DirectoryListing.names(directory)) ?? []).compactMap { IPv4Address($0)?.value })
            for value in settings.sandboxAddresses where !taken.contains(value) {
                let address = IPv4Address(value)
                let path = "\(directory)/\(address)"
                let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
                if fd < 0 {
                    if errno == EEXIST { continue }  // another launcher took it meanwhile
                    throw OSError("create \(path)", errno: errno)
                }
                let bytes = Array(text.utf8)
                let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                close(fd)
                guard written == bytes.count else {
                    unlink(path)
                    throw OSError("write \(path)", errno: written < 0 ? errno : EIO)
                }
                return Lease(address: address, sandbox: id, egress: egress)
            }
            // Full: take back what sandboxes that are gone left, and try once more.
            if pass == 0 { _ = reclaimStale(isRunning: SandboxLiveness.isRunning(root: root)) }
        }
        throw BatonError(.unavailable, "no free address in \(settings.subnet) for sandbox \(id): stop sandboxes or choose a larger --subnet")
    }

    public func release(_ address: IPv4Address) {
        unlink("\(directory)/\(address)")
    }

    /// Every lease on disk.
    public func all() -> [Lease] {
        ((try? DirectoryListing.names(directory)) ?? []).compactMap { name in
            guard let address = IPv4Address(name), let text = try? readText("\(directory)/\(name)") else { return nil }
            let lines = text.split(separator: "\n").map(String.init)
            guard let id = lines.first else { return nil }
            return Lease(address: address, sandbox: id, egress: lines.dropFirst().compactMap { EgressRule(parsing: $0) })
        }
    }

    public func activeAddresses() -> [IPv4Address] {
        let isRunning = SandboxLiveness.isRunning(root: root)
        return all().filter { isRunning($0.sandbox) }.map(\.address)
    }

    /// Removes the leases of sandboxes that no longer run; returns them (their firewall
    /// elements are the caller's to remove).
    @discardableResult
    public func reclaimStale(isRunning: (String) -> Bool) -> [Lease] {
        let stale = all().filter { !isRunning($0.sandbox) }
        for lease in stale { release(lease.address) }
        return stale
    }

    private func readText(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw OSError("open \(path)", errno: errno) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = read(fd, &buffer, buffer.count)
        guard count >= 0 else { throw OSError("read \(path)", errno: errno) }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }
}

/// Whether a sandbox of a root still runs: its record names a live init (records are written
/// before the program starts, and outlive a daemon killed with -9), or its directory is held
/// by a launcher that has not written the record yet.
enum SandboxLiveness {
    static func isRunning(root: String) -> (String) -> Bool {
        { id in
            if (try? SandboxRecord.running(root: root, id: id)) != nil { return true }
            let directory = "\(root)/sandboxes/\(id)"
            let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            return flock(fd, LOCK_EX | LOCK_NB) != 0 && access("\(directory)/\(SandboxRecord.fileName)", F_OK) != 0
        }
    }
}
