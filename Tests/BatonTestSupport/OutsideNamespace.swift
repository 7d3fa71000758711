import Foundation
import Glibc

/// A network namespace the test makes, standing for "the internet": a veth into it with a /30
/// of 198.51.100.0/24 (TEST-NET-2) that no other such namespace holds, a server inside.
/// Removed, with every process in it, by `remove`.
public struct OutsideNamespace {
    public let name = "bt-out-\(UUID().uuidString.prefix(6).lowercased())"
    public let hostSide: String
    /// The server's address, inside the namespace.
    public let address: String

    public init() throws {
        hostSide = "bto" + name.suffix(6)
        // Two at once (tests of two processes, say) with one subnet would give the host two
        // routes to it, and replies would leave by the wrong one: each takes a /30 of its own,
        // chosen under a host-wide lock among those no route holds yet.
        let lock = open("/run/baton-test-outside.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw CocoaError(.featureUnsupported, userInfo: ["output": "open lock: errno \(errno)"]) }
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 && errno == EINTR {}
        let routes = shell("ip -4 route show root 198.51.100.0/24")
        guard let block = (0..<64).first(where: { !routes.contains("198.51.100.\($0 * 4)/30") }) else {
            throw CocoaError(.featureUnsupported, userInfo: ["output": "every /30 of 198.51.100.0/24 is taken: \(routes)"])
        }
        let gateway = "198.51.100.\(block * 4 + 1)"
        address = "198.51.100.\(block * 4 + 2)"
        let script = """
            ip netns add \(name) && ip link add \(hostSide) type veth peer name inside netns \(name) &&
            ip addr add \(gateway)/30 dev \(hostSide) && ip link set \(hostSide) up &&
            ip netns exec \(name) ip addr add \(address)/30 dev inside && ip netns exec \(name) ip link set inside up &&
            ip netns exec \(name) ip link set lo up && ip netns exec \(name) ip route add default via \(gateway)
            """
        let output = shell("(\(script)) 2>&1; echo status=$?")
        guard output.hasSuffix("status=0\n") else {
            shell("ip link del \(hostSide) 2>/dev/null; ip netns del \(name) 2>/dev/null")
            throw CocoaError(.featureUnsupported, userInfo: ["output": output])
        }
    }

    /// busybox httpd inside, serving `text` at / on `port`; stopped by `remove`.
    public func serve(_ text: String, port: Int) throws {
        let www = "/tmp/\(name)-www"
        try FileManager.default.createDirectory(atPath: www, withIntermediateDirectories: true)
        try text.write(toFile: www + "/index.html", atomically: true, encoding: .utf8)
        _ = try StaticSite.start(["/usr/bin/ip", "netns", "exec", name, "busybox", "httpd", "-f", "-p", "\(address):\(port)", "-h", www])
        usleep(200_000)
    }

    public func remove() {
        shell("ip netns pids \(name) | xargs -r kill -9; ip link del \(hostSide) 2>/dev/null; ip netns del \(name); rm -rf /tmp/\(name)-www")
    }
}

/// busybox httpd in the foreground as a child of the test: a daemonized one would hold on to
/// the descriptors the test reads its helpers' output from.
public enum StaticSite {
    public static func start(_ command: [String]) throws -> ChildProcess {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// SIGKILL: the test runner's blocked signals are inherited, SIGTERM among them.
    public static func stop(_ process: ChildProcess) {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
