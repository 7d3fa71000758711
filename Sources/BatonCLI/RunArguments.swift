import BatonOS
import BatonSandbox

/// `baton run`'s arguments as plain values, filled either by ArgumentParser (RunCommand) or,
/// on the sandbox start path, by `fastParse`.
struct RunArguments {
    var root: String
    var name: String?
    var env: [String] = []
    var hostname: String?
    var workdir: String?
    var memory: String?
    var pids: Int?
    var cpus: Double?
    var user: String?
    var userns = false
    var keepCap: [String] = []
    var seccomp = "default"
    var timeout: Double?
    var rootfs: String?
    var volume: [String] = []
    var network = "none"
    var tty = false
    var ref: String?
    var command: [String] = []

    /// What is wrong with the combination, in words for `error:`; nil when it is runnable.
    var problem: String? {
        if (ref == nil) == (rootfs == nil) { return "give exactly one of an artifact REF or --rootfs DIR" }
        if SandboxSpec.SeccompMode(rawValue: seccomp) == nil { return "--seccomp must be 'default' or 'unconfined'" }
        if let memory, ByteCount.parse(memory) == nil { return "--memory '\(memory)' is not a byte count (e.g. 268435456 or 256m)" }
        if let user, UserSpec.parse(user) == nil { return "--user '\(user)' must be UID or UID:GID (numbers)" }
        if let timeout, !(timeout > 0) { return "--timeout must be a positive number of seconds" }
        if ref == nil && command.isEmpty { return "--rootfs needs a program: baton run --rootfs DIR -- PROGRAM ARGS…" }
        if network != "none" && network != "egress" { return "--network must be 'none' or 'egress'" }
        if let bad = volume.first(where: { VolumeSpec.parse($0) == nil }) { return "--volume '\(bad)' must be HOSTDIR:/path or HOSTDIR:/path:ro" }
        return nil
    }

    /// Parsing `run` with ArgumentParser reflects over every option and costs more than the
    /// rest of a sandbox launch, so the common, well-formed case is parsed here. Anything this
    /// does not recognise returns nil and goes through ArgumentParser, which owns help and
    /// error messages. RunArgumentsTests checks both parsers agree.
    static func fastParse(_ arguments: [String], root defaultRoot: String) -> RunArguments? {
        var result = RunArguments(root: defaultRoot)
        var index = 0
        func value() -> String? {
            index += 1
            return index < arguments.count ? arguments[index] : nil
        }
        while index < arguments.count {
            var argument = arguments[index]
            var inline: String?
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                inline = String(argument[argument.index(after: equals)...])
                argument = String(argument[..<equals])
            }
            func take() -> String? { inline ?? value() }
            switch argument {
            case "--":
                result.command = Array(arguments[(index + 1)...])
                index = arguments.count
                continue
            case "--rm": if inline != nil { return nil }
            case "--userns": if inline != nil { return nil }; result.userns = true
            case "-t", "--tty", "-it", "-ti": if inline != nil { return nil }; result.tty = true
            case "-i", "--interactive": if inline != nil { return nil }
            case "--root": guard let v = take() else { return nil }; result.root = StateRoot.resolve(v)
            case "--name": guard let v = take() else { return nil }; result.name = v
            case "--env": guard let v = take() else { return nil }; result.env.append(v)
            case "--hostname": guard let v = take() else { return nil }; result.hostname = v
            case "--workdir": guard let v = take() else { return nil }; result.workdir = v
            case "--memory": guard let v = take() else { return nil }; result.memory = v
            case "--pids": guard let v = take().flatMap({ Int($0) }) else { return nil }; result.pids = v
            case "--cpus": guard let v = take().flatMap({ Double($0) }) else { return nil }; result.cpus = v
            case "--user": guard let v = take() else { return nil }; result.user = v
            case "--keep-cap": guard let v = take() else { return nil }; result.keepCap.append(v)
            case "--seccomp": guard let v = take() else { return nil }; result.seccomp = v
            case "--timeout": guard let v = take().flatMap({ Double($0) }) else { return nil }; result.timeout = v
            case "--rootfs": guard let v = take() else { return nil }; result.rootfs = v
            case "--volume": guard let v = take() else { return nil }; result.volume.append(v)
            case "--network": guard let v = take() else { return nil }; result.network = v
            default:
                if argument.hasPrefix("-") || result.ref != nil { return nil }
                result.ref = argument
            }
            index += 1
        }
        return result.problem == nil ? result : nil
    }
}
