import Foundation
import Glibc

/// A network namespace the test makes, standing for "the internet": a veth into it with
/// 198.51.100.0/24 (TEST-NET-2), a server inside. Removed, with every process in it, by `remove`.
public struct OutsideNamespace {
    public let name = "bt-out-\(UUID().uuidString.prefix(6).lowercased())"
    public let hostSide: String
    public let address = "198.51.100.2"

    public init() throws {
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
