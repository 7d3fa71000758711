import ArgumentParser
import BatonControl
import BatonOS
import FoundationEssentials
import Glibc

/// `baton daemon stop [--timeout S]`: the daemon stops as on SIGTERM (stops accepting, lets
/// in-flight requests finish within its --shutdown-grace, leaves the sandboxes running), and
/// this waits until the process has exited, so the root's lock is free when it returns.
struct DaemonStopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baton daemon stop",
        abstract: "Stop the daemon gracefully and wait until it has exited (sandboxes keep running).")

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Seconds to wait for the daemon to exit.", valueName: "seconds"))
    var timeout: Double = 60

    func validate() throws {
        guard (1...3600).contains(timeout) else {
            throw ValidationError("invalid --timeout \(timeout): use 1 to 3600 seconds")
        }
    }

    func run() throws {
        let client = try global.controlClient
        let remote = try global.remote != nil
        let before = try client.daemonInfo()
        // Which process to wait for: a pid reused meanwhile has another start time.
        let started = remote ? nil : ProcessStart.ticks(before.pid)
        let stopped = try client.stopDaemon()
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        while !Self.exited(stopped.pid, started: started, client: client, remote: remote) {
            guard ContinuousClock.now < deadline else {
                throw BatonError(.timeout, "the daemon (pid \(stopped.pid)) is still stopping after \(Self.seconds(timeout)) s: in-flight requests may hold it up to its --shutdown-grace; wait, or send it SIGKILL")
            }
            usleep(50_000)
        }
        Output.result("baton daemon: stopped (pid \(stopped.pid))")
    }

    /// Here: the process is gone (or a zombie, its descriptors and so the root's lock already
    /// let go). Over ssh, where its pid means nothing: the socket no longer answers.
    private static func exited(_ pid: Int32, started: UInt64?, client: ControlClient, remote: Bool) -> Bool {
        if remote { return (try? client.daemonInfo()) == nil }
        guard let now = ProcessStart.ticks(pid) else { return true }
        return now != started || ProcessStart.isZombie(pid)
    }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}

/// A process's start time (/proc/PID/stat field 22), which tells it from a later one with the
/// same pid.
enum ProcessStart {
    static func ticks(_ pid: Int32) -> UInt64? {
        fields(pid).flatMap { $0.count > 19 ? UInt64($0[19]) : nil }
    }

    static func isZombie(_ pid: Int32) -> Bool {
        fields(pid).map { $0.first == "Z" || $0.first == "X" } ?? true
    }

    /// The fields after the name (from field 3, the state), which may itself hold spaces.
    private static func fields(_ pid: Int32) -> [Substring]? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].split(separator: " ")
    }
}
