import CShims
import Glibc

/// A sandboxed program's stdin, stdout and stderr as pipes that the launcher copies to and
/// from its own, instead of the launcher's descriptors themselves. A process inside the
/// sandbox can reopen another's `/proc/PID/fd/0`: handed the caller's terminal, it could read
/// what the admin types after `exec` ends; handed a host file as read-only stdin, it could
/// reopen it for writing. Through the relay it only ever finds a pipe, which Baton closes when
/// the program is done.
public final class StdioRelay {
    /// The ends the program gets as 0, 1 and 2 (`SpawnRequest.stdio`).
    public private(set) var childEnds: [Int32]
    private var streams: [Stream]

    /// One direction of copying; `from` and `to` are -1 once closed.
    private struct Stream {
        var from: Int32
        var to: Int32
        /// Ours to close (a pipe end), as opposed to the launcher's own 0, 1, 2.
        let ownsFrom: Bool
        let ownsTo: Bool
        var pending: [UInt8] = []
    }

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
            Stream(from: STDIN_FILENO, to: made[1], ownsFrom: false, ownsTo: true),
            Stream(from: made[2], to: STDOUT_FILENO, ownsFrom: true, ownsTo: false),
            Stream(from: made[4], to: STDERR_FILENO, ownsFrom: true, ownsTo: false),
        ]
        for stream in streams {
            for fd in [stream.ownsFrom ? stream.from : -1, stream.ownsTo ? stream.to : -1] where fd >= 0 {
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            }
        }
        // A program that exits without reading stdin must not kill us with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
    }

    deinit {
        closeChildEnds()
        for index in streams.indices { closeStream(index) }
    }

    /// After the program has started: it holds its own copies now.
    public func closeChildEnds() {
        for fd in childEnds where fd >= 0 { close(fd) }
        childEnds = [-1, -1, -1]
    }

    /// What to poll: each stream's source while its buffer is empty, its destination while not.
    func pollRequests() -> [pollfd] {
        streams.compactMap { stream in
            guard stream.from >= 0 || !stream.pending.isEmpty, stream.to >= 0 else { return nil }
            if stream.pending.isEmpty { return pollfd(fd: stream.from, events: Int16(POLLIN), revents: 0) }
            return pollfd(fd: stream.to, events: Int16(POLLOUT), revents: 0)
        }
    }

    /// Moves whatever `ready` (answers to `pollRequests()`) allows.
    func service(_ ready: [pollfd]) {
        for entry in ready where entry.revents != 0 {
            guard let index = streams.firstIndex(where: { $0.from == entry.fd || $0.to == entry.fd }) else { continue }
            if streams[index].pending.isEmpty { fill(index) } else { flush(index) }
        }
    }

    /// The program has ended: copies out what its output pipes still hold, without waiting for
    /// writers that may outlive it (an `exec`'d program's background children), and closes
    /// everything, stdin first.
    public func finish() {
        closeStream(0)
        for index in 1..<streams.count {
            while streams[index].from >= 0 || !streams[index].pending.isEmpty {
                if streams[index].pending.isEmpty {
                    guard fill(index) else { break }
                } else {
                    flush(index)
                }
                if streams[index].to < 0 { break }
            }
            closeStream(index)
        }
    }

    /// Reads into the stream's buffer; false when nothing more is to be had now.
    @discardableResult
    private func fill(_ index: Int) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = read(streams[index].from, &buffer, buffer.count)
        if count > 0 {
            streams[index].pending = Array(buffer[0..<count])
            flush(index)
            return true
        }
        if count < 0 && (errno == EAGAIN || errno == EINTR) { return false }
        // End of input (or an error reading it): the destination sees end of file.
        closeStream(index)
        return false
    }

    private func flush(_ index: Int) {
        let written = streams[index].pending.withUnsafeBytes { write(streams[index].to, $0.baseAddress, $0.count) }
        if written > 0 {
            streams[index].pending.removeFirst(written)
        } else if written < 0 && errno != EAGAIN && errno != EINTR {
            // The reader went away (EPIPE): nothing more can be delivered this way.
            closeStream(index)
        }
    }

    private func closeStream(_ index: Int) {
        let stream = streams[index]
        if stream.ownsFrom && stream.from >= 0 { close(stream.from) }
        if stream.ownsTo && stream.to >= 0 { close(stream.to) }
        streams[index].from = -1
        streams[index].to = -1
        streams[index].pending = []
    }
}
