import ArgumentParser
import BatonCommandLine
import BatonControl
import BatonOS
import Glibc

/// `baton dial-stdio`: what `ssh HOST baton dial-stdio` runs for `baton --host ssh://HOST` on
/// another machine. Connects to this host's control socket, writes a one-line banner (the
/// control protocol it relays; see `DialStdioBanner`), then copies stdin to the socket and the
/// socket to stdout. The daemon checks this process's credentials like any local client's,
/// so the ssh user needs what a local user needs: root, or the socket's group.
struct DialStdioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dial-stdio",
        abstract: "Relay stdin and stdout to this host's control socket (what 'baton --host ssh://…' runs over ssh).")

    @OptionGroup var global: GlobalOptions

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        // Always this host's daemon: a BATON_HOST in the remote environment must not loop.
        let socket = try ControlClient(socketPath: global.socketPath, connectWait: ControlClient.startWait).connectLocal()
        defer { close(socket) }
        guard Self.writeAll(STDOUT_FILENO, Array(DialStdioBanner.line(version: BatonVersion.current).utf8)[...]) else { return }
        Self.relay(socket: socket)
    }

    /// Copies until the daemon has closed its side. The client sends one request and then
    /// reads until the end of the stream, so the end of stdin is not passed on as a half-close
    /// (the daemon would take it as the client leaving and drop the reply): stdin is only no
    /// longer read, and the reply still flows to stdout until the daemon closes.
    static func relay(socket: Int32) {
        var inputOpen = true
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            var fds = [pollfd(fd: socket, events: Int16(POLLIN), revents: 0), pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, inputOpen ? 2 : 1, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if inputOpen && fds[1].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                // A write that fails means the daemon closed early (a refusal): its reply follows.
                if count <= 0 || !writeAll(socket, buffer[..<count]) { inputOpen = false }
            }
            if fds[0].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 || !writeAll(STDOUT_FILENO, buffer[..<count]) { return }
            }
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: ArraySlice<UInt8>) -> Bool {
        var rest = bytes
        while !rest.isEmpty {
            let written = rest.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return false }
            rest = rest.dropFirst(written)
        }
        return true
    }
}
