import BatonOS
import FoundationEssentials
import Glibc

/// Which bridge and subnet a root's sandboxes use: chosen once (a /24 in 10.88.0.0/13 that no
/// host route touches, unless `baton daemon --subnet` says otherwise) and kept in
/// `<root>/network/settings`, so `baton run --network egress` and the daemon agree. The bridge's
/// first address is the gateway, which sandboxes know as `host.baton.internal`.
public struct NetworkSettings: Sendable, Equatable {
    /// `baton0` for the default root; `bt-` and a hash of the root for any other, so two roots
    /// (a test's and the host's, say) never contend for one bridge.
    public static func defaultBridge(root: String) -> String {
        if root == StateRoot.defaultPath { return "baton0" }
        var hash: UInt32 = 0x811c_9dc5
        for byte in root.utf8 { hash = (hash ^ UInt32(byte)) &* 0x0100_0193 }
        let hex = String(hash, radix: 16)
        return "bt-" + String(repeating: "0", count: 8 - hex.count) + hex
    }

    public var bridge: String
    public var subnet: IPv4Network

    public init(bridge: String, subnet: IPv4Network) {
        self.bridge = bridge
        self.subnet = subnet
    }

    public var gateway: IPv4Address { IPv4Address(subnet.address.value + 1) }
    /// The addresses sandboxes get: after the gateway, before the broadcast address.
    public var sandboxAddresses: ClosedRange<UInt32> { (subnet.address.value + 2)...(subnet.last.value - 1) }

    static func path(root: String) -> String { "\(root)/network/settings" }

    /// The root's settings; chosen and saved on first use. `requested` (from `baton daemon
    /// --subnet/--bridge`) replaces saved ones only while no sandbox holds an address.
    public static func load(root: String, bridge requestedBridge: String? = nil, subnet requestedSubnet: IPv4Network? = nil) throws -> NetworkSettings {
        let saved = try read(root: root)
        if let saved, requestedBridge ?? saved.bridge == saved.bridge, requestedSubnet ?? saved.subnet == saved.subnet {
            return saved
        }
        if let saved, !AddressLeases(root: root, settings: saved).activeAddresses().isEmpty {
            throw BatonError(.conflict, "sandboxes of \(root) still use \(saved.bridge) \(saved.subnet): stop them before changing --bridge or --subnet")
        }
        let bridge = requestedBridge ?? saved?.bridge ?? defaultBridge(root: root)
        guard BridgeName.isValid(bridge) else {
            throw BatonError(.invalidArgument, "--bridge '\(bridge)' is not an interface name: 1-15 of letters, digits, '-', '_', '.'")
        }
        // Roots choosing at once must not both take the first free /24: one at a time, host-wide,
        // until the chosen subnet shows as the new bridge's route.
        let lock = try HostNetworkLock.acquire()
        defer { lock.release() }
        if let saved = try read(root: root), requestedBridge ?? saved.bridge == saved.bridge, requestedSubnet ?? saved.subnet == saved.subnet {
            return saved
        }
        // The bridge's own route is ours; the default route overlaps everything and says nothing.
        let routes = HostRoutes.current().filter { $0.interface != bridge && $0.network.prefix > 0 }
        let claimed = NetworkSettings.claimedElsewhere(except: root)
        let subnet = try requestedSubnet ?? choose(avoiding: routes.map(\.network) + claimed)
        guard subnet.prefix >= 16 && subnet.prefix <= 29 else {
            throw BatonError(.invalidArgument, "--subnet \(subnet) must be between a /16 and a /29")
        }
        if let route = routes.first(where: { $0.network.overlaps(subnet) }) {
            throw BatonError(.invalidArgument, "--subnet \(subnet) overlaps the host's route to \(route.network) on \(route.interface): choose another subnet")
        }
        let settings = NetworkSettings(bridge: bridge, subnet: subnet)
        try settings.save(root: root)
        settings.register(root: root)
        return settings
    }

    /// The first /24 of 10.88.0.0/13 no host route overlaps.
    static func choose(avoiding routes: [IPv4Network]) throws -> IPv4Network {
        let base = IPv4Address("10.88.0.0")!.value
        for index in UInt32(0)..<2048 {
            let candidate = IPv4Network(address: IPv4Address(base + index << 8), prefix: 24)
            if !routes.contains(where: { $0.overlaps(candidate) }) { return candidate }
        }
        throw BatonError(.conflict, "every /24 of 10.88.0.0/13 overlaps a host route: choose a subnet with baton daemon --subnet")
    }

    static func read(root: String) throws -> NetworkSettings? {
        guard let text = try? String(contentsOfFile: path(root: root), encoding: .utf8) else { return nil }
        let fields = text.split(separator: "\n").map(String.init)
        guard fields.count == 2, BridgeName.isValid(fields[0]), let subnet = IPv4Network(fields[1]) else {
            throw BatonError(.corrupt, "\(path(root: root)) is not Baton's network settings: remove it (with no sandbox running) to choose again")
        }
        return NetworkSettings(bridge: fields[0], subnet: subnet)
    }

    func save(root: String) throws {
        let directory = "\(root)/network"
        if mkdir(directory, 0o700) != 0 && errno != EEXIST { throw OSError("mkdir \(directory)", errno: errno) }
        let path = Self.path(root: root)
        let temporary = "\(path).tmp-\(UInt64.random(in: 0...UInt64.max))"
        let bytes = Array("\(bridge)\n\(subnet)\n".utf8)
        let fd = try sys("create \(temporary)") { open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == bytes.count, rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw OSError("write \(path)", errno: code)
        }
    }
}

/// One host-wide lock for choosing subnets and making bridges (`/run/baton-network.lock`).
struct HostNetworkLock {
    let fd: Int32

    static func acquire() throws -> HostNetworkLock {
        let path = "/run/baton-network.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw BatonError(.setupFailed, "cannot open \(path): \(String(cString: strerror(errno)))") }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else {
                close(fd)
                throw BatonError(.setupFailed, "cannot lock \(path): \(String(cString: strerror(errno)))")
            }
        }
        return HostNetworkLock(fd: fd)
    }

    func release() { close(fd) }
}

extension NetworkSettings {
    static let registryDirectory = "/run/baton-subnets"

    static func registryPath(bridge: String) -> String { "\(registryDirectory)/\(bridge)" }

    /// Subnets other roots have chosen, from the host-wide registry `/run/baton-subnets/`:
    /// a root whose bridge is not up yet has no route to show for it.
    static func claimedElsewhere(except root: String) -> [IPv4Network] {
        ((try? DirectoryListing.names(registryDirectory)) ?? []).compactMap { name in
            guard let text = try? String(contentsOfFile: registryPath(bridge: name), encoding: .utf8) else { return nil }
            let lines = text.split(separator: "\n").map(String.init)
            guard lines.count == 2, lines[0] != root, let subnet = IPv4Network(lines[1]) else { return nil }
            // A root that is gone (removed with rm -rf, say) holds nothing any more: its bridge
            // and table go too, so that throwaway roots do not use up subnets.
            guard access(lines[0], F_OK) == 0 else {
                try? RootNetwork.tearDown(NetworkSettings(bridge: name, subnet: subnet), alias: Bridge.aliasText(lines[0]))
                unlink(registryPath(bridge: name))
                return nil
            }
            return subnet
        }
    }

    func register(root: String) {
        mkdir(Self.registryDirectory, 0o700)
        let fd = open(Self.registryPath(bridge: bridge), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let bytes = Array("\(root)\n\(subnet)\n".utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }
}

/// Interface names the kernel takes: 1–15 bytes of letters, digits, '-', '_', '.'.
public enum BridgeName {
    public static func isValid(_ name: String) -> Bool {
        (1...15).contains(name.utf8.count) && name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
        }
    }
}

/// The host's IPv4 routes, from /proc/net/route.
struct HostRoutes {
    struct Route {
        let interface: String
        let network: IPv4Network
    }

    static func current() -> [Route] {
        guard let text = try? String(contentsOfFile: "/proc/net/route", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 8, let destination = UInt32(fields[1], radix: 16), let mask = UInt32(fields[7], radix: 16) else { return nil }
            // The file's words are in the kernel's (little-endian) memory order.
            let prefix = UInt32(bigEndian: mask).nonzeroBitCount
            return Route(interface: String(fields[0]),
                         network: IPv4Network(address: IPv4Address(UInt32(bigEndian: destination)), prefix: prefix))
        }
    }
}
