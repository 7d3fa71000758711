import ArgumentParser
import BatonControl
import BatonOS
import BatonSandbox
import Glibc

/// `baton logs SANDBOX|APP [-f]`: a sandbox's output, read from the log its init writes
/// (so it works whether or not the daemon is up, for an id; an app name asks the daemon
/// which sandbox serves it, and while following asks again, to go on with the new sandbox's
/// output once a swap has moved the app's traffic to it).
struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print a sandbox's output.")

    @OptionGroup var global: GlobalOptions
    @Flag(name: .shortAndLong, help: "Keep printing as the sandbox writes.")
    var follow = false
    @Argument(help: "A sandbox id, or an app (its serving sandbox).")
    var target: String

    func run() throws {
        if let remote = try global.remote {
            let id = try sandboxID(remote: true)
            return try RemoteLogs(client: ControlClient(remote: remote), follow: follow).print(id, app: id == target ? nil : target)
        }
        var id = try sandboxID()
        var log = self.log(of: id)
        guard access(log.path, F_OK) == 0 else {
            throw BatonError(.notFound, "no logs for \(target): see 'baton ps --all'")
        }
        let followsApp = id != target
        var escaping = TerminalEscaping.applies(to: STDOUT_FILENO) ? TerminalEscaping() : nil
        var offset = copyWhole(log, escaping: &escaping)
        while follow {
            usleep(200_000)
            let size = fileSize(log.path)
            if size < offset { offset = 0 }  // rotated: start the new file
            offset = copy(log.path, from: offset, escaping: &escaping)
            // After a swap, green's output from its first line; blue's last lines are above.
            // Asked without waiting for a daemon to start: one that is down must not stall the copy.
            if followsApp, let serving = try? ControlClient(socketPath: global.socketPath).app(named: target).servingSandbox, serving != id {
                id = serving
                log = self.log(of: id)
                offset = copyWhole(log, escaping: &escaping)
            }
        }
        // A sequence cut off at the very end is escaped byte by byte.
        if let rest = escaping?.escape([], final: true) { _ = writeAll(rest) }
    }

    private func log(of id: String) -> SandboxLog {
        SandboxLog(directory: SandboxLog.directory(root: global.rootPath, id: id))
    }

    /// Writes the rotated file (the older lines) and the current one; returns the current's offset.
    private func copyWhole(_ log: SandboxLog, escaping: inout TerminalEscaping?) -> Int {
        if access(log.rotatedPath, F_OK) == 0 { _ = copy(log.rotatedPath, from: 0, escaping: &escaping) }
        return copy(log.path, from: 0, escaping: &escaping)
    }

    private func sandboxID(remote: Bool = false) throws -> String {
        if !remote, access(SandboxLog.directory(root: global.rootPath, id: target), F_OK) == 0 { return target }
        let sandboxes = try global.controlClient.sandboxes(all: remote)
        if remote, sandboxes.contains(where: { $0.id == target }) { return target }
        guard let serving = sandboxes.first(where: { $0.app == target && $0.serving }) ?? sandboxes.last(where: { $0.app == target }) else {
            throw BatonError(.notFound, "no sandbox or app named \(target): see 'baton ps'")
        }
        return serving.id
    }

    /// Writes `path` from `offset` to stdout, escaped for a terminal when `escaping` is set;
    /// returns the new offset.
    private func copy(_ path: String, from offset: Int, escaping: inout TerminalEscaping?) -> Int {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return offset }
        defer { close(fd) }
        var position = offset
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = pread(fd, &buffer, buffer.count, off_t(position))
            if n <= 0 { break }
            let chunk = buffer[..<n]
            guard writeAll(escaping?.escape(chunk) ?? Array(chunk)) else { return position }
            position += n
        }
        return position
    }

    /// Writes every byte to stdout; false once a write fails (stdout closed).
    private func writeAll(_ bytes: [UInt8]) -> Bool {
        var written = 0
        while written < bytes.count {
            let w = bytes[written...].withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            if w <= 0 { return false }
            written += w
        }
        return true
    }

    private func fileSize(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }
}
