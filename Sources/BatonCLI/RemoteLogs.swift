import BatonControl
import Glibc

/// `baton --host ssh://… logs SANDBOX|APP [-f]`: the log read through the remote daemon
/// (`GET /v1/sandboxes/ID/log`), a piece per connection; following asks again each second.
/// Following an app goes on, as the local command does, with the new sandbox's output from
/// its first line once a swap has moved the app to it.
struct RemoteLogs {
    let client: ControlClient
    let follow: Bool

    /// - Parameter app: the app `id` serves, when the user named the app.
    func print(_ id: String, app: String? = nil) throws {
        var escaping = TerminalEscaping.applies(to: STDOUT_FILENO) ? TerminalEscaping() : nil
        var id = id
        var offset: Int64? = nil
        repeat {
            let chunk = try client.log(sandbox: id, offset: offset)
            offset = chunk.next
            let bytes = Array(chunk.data)
            guard Self.writeAll(escaping?.escape(bytes[...]) ?? bytes) else { return }
            if !chunk.more {
                if !follow { break }
                sleep(1)
                if let app, let serving = try? client.app(named: app).servingSandbox, serving != id {
                    // The old sandbox's last lines, then the new one's from its start.
                    while let rest = try? client.log(sandbox: id, offset: offset) {
                        offset = rest.next
                        let bytes = Array(rest.data)
                        guard Self.writeAll(escaping?.escape(bytes[...]) ?? bytes) else { return }
                        if !rest.more { break }
                    }
                    id = serving
                    offset = nil
                }
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
