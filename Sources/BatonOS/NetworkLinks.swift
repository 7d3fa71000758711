import CShims
import Glibc

/// The host side of sandbox networking over rtnetlink: a bridge, its address, and veth pairs
/// whose sandbox end is created inside the sandbox's network namespace.
public enum NetworkLinks {
    /// The bridge `name`, made if missing; its ifindex.
    public static func ensureBridge(_ name: String) throws(OSError) -> Int32 {
        var index: Int32 = 0
        try sys("create bridge \(name)") { bt_net_bridge_ensure(name, &index) }
        return index
    }

    /// Keeps the bridge's hardware address as it is now: see `bt_net_link_set_address`.
    public static func pinAddress(of index: Int32, name: String) throws(OSError) {
        let base = "/sys/class/net/\(name)"
        // 3 is NET_ADDR_SET: chosen by someone, so the kernel no longer changes it.
        if (try? readSmallFile(base + "/addr_assign_type")) == "3" { return }
        let text = try readSmallFile(base + "/address")
        let bytes = text.split(separator: ":").compactMap { UInt8($0, radix: 16) }
        guard bytes.count == 6 else { throw OSError("read \(base)/address ('\(text)')", errno: EINVAL) }
        try sys("pin the hardware address of \(name)") { bytes.withUnsafeBufferPointer { bt_net_link_set_address(index, $0.baseAddress) } }
    }

    private static func readSmallFile(_ path: String) throws(OSError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw OSError("open \(path)", errno: errno) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = read(fd, &buffer, buffer.count)
        guard count >= 0 else { throw OSError("read \(path)", errno: errno) }
        return String(decoding: buffer[0..<count], as: UTF8.self).trimmedWhitespace
    }

    public static func index(of name: String) throws(OSError) -> Int32 {
        try sys("find interface \(name)") { bt_net_link_index(name) }
    }

    public static func addAddress(_ address: IPv4Address, prefix: Int, to index: Int32, name: String) throws(OSError) {
        try sys("add \(address)/\(prefix) to \(name)") { bt_net_address_add(index, address.networkOrder, Int32(prefix)) }
    }

    public static func setUp(_ index: Int32, name: String) throws(OSError) {
        try sys("set \(name) up") { bt_net_link_up(index) }
    }

    /// `host` on the bridge `master`, up; `peer` in the network namespace of `pid`; both `mtu`.
    public static func createVeth(host: String, peer: String, peerPID: pid_t, master: Int32, mtu: UInt32) throws(OSError) {
        try sys("create veth \(host) for process \(peerPID)") { bt_net_veth_create(host, peer, peerPID, master, mtu) }
    }

    public static func isolatePort(_ name: String) throws(OSError) {
        try sys("isolate bridge port \(name)") { bt_net_bridge_port_isolate(name) }
    }

    public static func delete(_ name: String) throws(OSError) {
        try sys("delete link \(name)") { bt_net_link_delete(name) }
    }

    /// Runs nft commands in one transaction through libnftables.
    public static func nft(_ commands: String) throws(OSError) {
        var message = [CChar](repeating: 0, count: 2048)
        guard bt_nft_run(commands, &message, message.count) == 0 else {
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw OSError("nftables: \(text.trimmedWhitespace)", errno: EINVAL)
        }
    }
}
