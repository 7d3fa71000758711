import BatonControl
import Glibc

/// `baton --host ssh://… logs SANDBOX|APP [-f]`: the log read through the remote daemon
/// (`GET /v1/sandboxes/ID/log`), a piece per connection; following asks again each second.
/// Unlike the local command it stays with the sandbox it started on.
struct RemoteLogs {
    let client: ControlClient
    let follow: Bool

    func print(_ id: String) throws {
        var escaping = TerminalEscaping.applies(to: STDOUT_FILENO) ? TerminalEscaping() : nil
        var offset: Int64? = nil
        repeat {
            let chunk = try client.log(sandbox: id, offset: offset)
            offset = chunk.next
            let bytes = Array(chunk.data)
            guard Self.writeAll(escaping?.escape(bytes[...]) ?? bytes) else { return }
            if !chunk.more {
                if !follow { break }
                sleep(1)
            }
        } while true
        if let rest = escaping?.escape([], final: true) { _ = Self.writeAll(rest) }
    }

    private static func writeAll(_ bytes: [UInt8]) -> Bool {
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            if count <= 0 { return false }
            written += count
        }
        return true
    }
}
