import CShims
import Glibc

/// A sandboxed program's stdin, stdout and stderr as pipes (or a pty) that the launcher copies
/// to and from its own, instead of the launcher's descriptors themselves. A process inside the
/// sandbox can reopen another's `/proc/PID/fd/0`: handed the caller's terminal, it could read
/// what the admin types after `exec` ends; handed a host file as read-only stdin, it could
/// reopen it for writing. Through the relay it only ever finds a pipe or Baton's own pty,
/// which Baton closes when the program is done.
public final class StdioRelay {
    /// The ends the program gets as 0, 1 and 2 (`SpawnRequest.stdio`).
    public private(set) var childEnds: [Int32]
    /// The program's stdin is a pty: it should make it its controlling terminal.
    public let isTerminal: Bool
    private var streams: [Stream]
    /// Our ends of the pipes (or the pty's master), each closed once its last stream is done.
    /// An array, not a Set: the first Set<Int32> of a process looks up Int32's Hashable
    /// conformance by scanning every conformance record of the binary, 60 µs of `baton run`.
    private var owned: [Int32]
    /// Our own terminal's settings while it is raw (pty mode only), restored at the end.
    private var savedTerminal: [UInt8]?

    /// One direction of copying; `from` and `to` are -1 once done.
    private struct Stream {
        var from: Int32
        var to: Int32
        var pending: [UInt8] = []
    }

    /// Pipes: the program's output keeps stdout and stderr apart, and its stdin ends when ours
    /// does.
    public init() throws(OSError) {
        var made: [Int32] = []
        do throws(OSError) {
            for _ in 0..<3 {
                var ends: [Int32] = [-1, -1]
                try sys("pipe2") { bt_pipe_cloexec(&ends) }
                made += ends
            }
        } catch {
            for fd in made { close(fd) }
            throw error
        }
        // stdin: the program reads made[0], we write made[1]; stdout and stderr the other way.
        childEnds = [made[0], made[3], made[5]]
        streams = [
            Stream(from: STDIN_FILENO, to: made[1]),
            Stream(from: made[2], to: STDOUT_FILENO),
            Stream(from: made[4], to: STDERR_FILENO),
        ]
        owned = [made[1], made[2], made[4]]
        isTerminal = false
        Self.prepare(owned)
    }

    /// A pty Baton owns (`-t`): the program gets its slave as 0, 1 and 2 and its controlling
    /// terminal; our own terminal, if stdin is one, goes raw so keys reach the program's line
    /// discipline untouched, and is restored by `finish`.
    public init(terminal: Void) throws(OSError) {
        var master: Int32 = -1, slave: Int32 = -1
        try sys("open a pty") { bt_pty_open(&master, &slave) }
        childEnds = [slave, slave, slave]
        streams = [Stream(from: STDIN_FILENO, to: master), Stream(from: master, to: STDOUT_FILENO)]
        owned = [master]
        isTerminal = true
        if isatty(STDOUT_FILENO) == 1 { _ = bt_terminal_copy_size(STDOUT_FILENO, master) }
        if isatty(STDIN_FILENO) == 1 {
            var saved = [UInt8](repeating: 0, count: Int(bt_terminal_settings_size))
            if bt_terminal_make_raw(STDIN_FILENO, &saved) == 0 { savedTerminal = saved }
        }
        Self.prepare(owned)
    }

    private static func prepare(_ ours: [Int32]) {
        for fd in ours { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        // A program that exits without reading stdin must not kill us with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
    }

    deinit {
        closeChildEnds()
        finish()
    }

    /// After the program has started: it holds its own copies now.
    public func closeChildEnds() {
        // A pty's slave is all three: closed once.
        for (index, fd) in childEnds.enumerated() where fd >= 0 && !childEnds[..<index].contains(fd) { close(fd) }
        childEnds = [-1, -1, -1]
    }

    /// A signal arrived for the program: a terminal resize is also passed to the pty, whose
    /// foreground process group then gets SIGWINCH from the kernel.
    func signalArrived(_ signal: Int32) {
        guard signal == SIGWINCH, isTerminal, let master = owned.first, isatty(STDOUT_FILENO) == 1 else { return }
        _ = bt_terminal_copy_size(STDOUT_FILENO, master)
    }

    /// What to poll: each stream's source while its buffer is empty, its destination while not.
    func pollRequests() -> [pollfd] {
        streams.compactMap { stream in
            guard stream.from >= 0, stream.to >= 0 else { return nil }
            if stream.pending.isEmpty { return pollfd(fd: stream.from, events: Int16(POLLIN), revents: 0) }
            return pollfd(fd: stream.to, events: Int16(POLLOUT), revents: 0)
        }
    }

    /// Moves whatever `ready` (answers to `pollRequests()`) allows.
    func service(_ ready: [pollfd]) {
        for entry in ready where entry.revents != 0 {
            let waitingToWrite = entry.events & Int16(POLLOUT) != 0
            guard let index = streams.firstIndex(where: { waitingToWrite ? $0.to == entry.fd : $0.from == entry.fd }) else { continue }
            if streams[index].pending.isEmpty { fill(index) } else { flush(index) }
        }
    }

    /// The program has ended: copies out what its output still holds, without waiting for
    /// writers that may outlive it (an `exec`'d program's background children), closes
    /// everything, stdin first, and gives our terminal its settings back.
    public func finish() {
        if !streams.isEmpty { done(0) }
        for index in streams.indices.dropFirst() {
            while streams[index].from >= 0 {
                let moved = streams[index].pending.isEmpty ? fill(index) : flush(index)
                guard moved else { break }
            }
            done(index)
        }
        if let saved = savedTerminal {
            _ = bt_terminal_restore(STDIN_FILENO, saved)
            savedTerminal = nil
        }
    }

    /// Reads into the stream's buffer and passes it on; false when nothing more is to be had now.
    @discardableResult
    private func fill(_ index: Int) -> Bool {
        // Not zero-filled first: that wrote 64 KiB (16 fresh pages, each a fault) on every
        // read, even the one that only finds the end of a program's empty output.
        var count = 0
        let buffer = [UInt8](unsafeUninitializedCapacity: 65536) { bytes, initialized in
            count = read(streams[index].from, bytes.baseAddress, bytes.count)
            initialized = max(count, 0)
        }
        if count > 0 {
            streams[index].pending = buffer
            flush(index)
            return true
        }
        if count < 0 && (errno == EAGAIN || errno == EINTR) { return false }
        // End of input, or a pty whose every slave is closed (EIO): the destination is done.
        done(index)
        return false
    }

    /// Writes what the stream holds; false when nothing could be written now.
    @discardableResult
    private func flush(_ index: Int) -> Bool {
        let written = streams[index].pending.withUnsafeBytes { write(streams[index].to, $0.baseAddress, $0.count) }
        if written > 0 {
            streams[index].pending.removeFirst(written)
            return true
        }
        if written < 0 && errno != EAGAIN && errno != EINTR {
            // The reader went away (EPIPE): nothing more can be delivered this way.
            done(index)
        }
        return false
    }

    /// Ends a stream, closing our descriptors no other stream still uses: closing the stdin
    /// pipe is how the program learns its input ended.
    private func done(_ index: Int) {
        let ends = [streams[index].from, streams[index].to]
        streams[index] = Stream(from: -1, to: -1)
        for fd in ends where owned.contains(fd) && !streams.contains(where: { $0.from == fd || $0.to == fd }) {
            close(fd)
            owned.removeAll { $0 == fd }
        }
    }
}
