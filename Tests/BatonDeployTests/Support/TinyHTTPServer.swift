import BatonTestSupport
import Foundation
import Glibc
import Synchronization

/// A listening socket on 127.0.0.1 with a thread that serves each connection with `reply`,
/// one at a time. Records what each client sent. `stop()` closes it and joins the thread.
final class TinyHTTPServer: Sendable {
    /// What to do with one accepted connection.
    enum Reply: Sendable {
        /// Read the request, send these bytes, close.
        case send(String)
        /// Read the request, then wait this long before sending these bytes.
        case sendAfter(Duration, String)
        /// Close without a word.
        case close
    }

    let port: Int
    private let listener: Int32
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let received = Mutex<[String]>([])

    /// Listens on any free port.
    convenience init(reply: Reply) throws {
        try self.init(listeningOn: ReservedPort(), reply: reply)
    }

    /// Starts listening on a port this test has held since it chose it, so no other test
    /// can have taken it in between. The server owns the socket from here on.
    init(listeningOn reserved: ReservedPort, reply: Reply) throws {
        let fd = reserved.takeSocket()
        guard listen(fd, 16) == 0 else {
            close(fd)
            throw TestTimeout("listen on port \(reserved.port): errno \(errno)")
        }
        listener = fd
        port = reserved.port
        Thread.detachNewThread { [self] in
            serve(listener: fd, reply: reply)
            finished.signal()
        }
    }

    /// The requests received so far, as text.
    var requests: [String] { received.withLock { $0 } }

    func stop() {
        stopping.store(true, ordering: .releasing)
        finished.wait()
        close(listener)
    }

    private func serve(listener: Int32, reply: Reply) {
        while !stopping.load(ordering: .acquiring) {
            var entry = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 20) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            defer { close(client) }
            switch reply {
            case .close:
                continue
            case .send(let text):
                record(readRequest(client))
                write(text, to: client)
            case .sendAfter(let delay, let text):
                record(readRequest(client))
                let until = ContinuousClock.now + delay
                while ContinuousClock.now < until, !stopping.load(ordering: .acquiring) { usleep(5_000) }
                write(text, to: client)
            }
        }
    }

    private func record(_ request: String) { received.withLock { $0.append(request) } }

    /// Reads until the blank line that ends the headers, or 1 s passes.
    private func readRequest(_ fd: Int32) -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1024)
        while !String(decoding: bytes, as: UTF8.self).contains("\r\n\r\n") {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 1000) > 0 else { break }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func write(_ text: String, to fd: Int32) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    static func localPort(of fd: Int32) -> Int {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
