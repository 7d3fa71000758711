import Foundation

/// A root's sandbox network as tests see it: its bridge and subnet (from the root's
/// `network/settings`), and the clean-up no test may skip: the bridge, its firewall table and
/// its host-wide subnet registration.
struct EgressNetwork {
    let bridge: String
    let subnet: String
    let gateway: String

    init(root: String) throws {
        let lines = try String(contentsOfFile: root + "/network/settings", encoding: .utf8).split(separator: "\n").map(String.init)
        bridge = lines[0]
        subnet = lines[1]
        let octets = subnet.split(separator: "/")[0].split(separator: ".").compactMap { Int($0) }
        gateway = "\(octets[0]).\(octets[1]).\(octets[2]).\(octets[3] + 1)"
    }

    static func remove(root: String) {
        guard let network = try? EgressNetwork(root: root) else { return }
        let table = "baton_" + String(network.bridge.map { $0.isLetter || $0.isNumber ? $0 : "_" })
        shell("ip link del \(network.bridge) 2>/dev/null; nft delete table inet \(table) 2>/dev/null; rm -f /run/baton-subnets/\(network.bridge)")
    }
}

/// A network namespace the test makes, standing for "the internet": a veth into it with
/// 198.51.100.0/24 (TEST-NET-2), a server inside. Removed, with every process in it, by `remove`.
struct OutsideNamespace {
    let name = "bt-out-\(UUID().uuidString.prefix(6).lowercased())"
    let hostSide: String
    let address = "198.51.100.2"

    init() throws {
        hostSide = "bto" + name.suffix(6)
        let script = """
            ip netns add \(name) && ip link add \(hostSide) type veth peer name inside netns \(name) &&
            ip addr add 198.51.100.1/24 dev \(hostSide) && ip link set \(hostSide) up &&
            ip netns exec \(name) ip addr add \(address)/24 dev inside && ip netns exec \(name) ip link set inside up &&
            ip netns exec \(name) ip link set lo up && ip netns exec \(name) ip route add default via 198.51.100.1
            """
        let output = shell("(\(script)) 2>&1; echo status=$?")
        guard output.hasSuffix("status=0\n") else { throw CocoaError(.featureUnsupported, userInfo: ["output": output]) }
    }

    /// busybox httpd inside, serving `text` at / on `port`; stopped by `remove`.
    func serve(_ text: String, port: Int) throws {
        let www = "/tmp/\(name)-www"
        try FileManager.default.createDirectory(atPath: www, withIntermediateDirectories: true)
        try text.write(toFile: www + "/index.html", atomically: true, encoding: .utf8)
        _ = try StaticSite.start(["/usr/bin/ip", "netns", "exec", name, "busybox", "httpd", "-f", "-p", "\(address):\(port)", "-h", www])
        usleep(200_000)
    }

    func remove() {
        shell("ip netns pids \(name) | xargs -r kill -9; ip link del \(hostSide) 2>/dev/null; ip netns del \(name); rm -rf /tmp/\(name)-www")
    }
}

/// busybox httpd in the foreground as a child of the test: a daemonized one would hold on to
/// the descriptors the test reads its helpers' output from.
enum StaticSite {
    static func start(_ command: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// SIGKILL: the test runner's blocked signals are inherited, SIGTERM among them.
    static func stop(_ process: Process) {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
