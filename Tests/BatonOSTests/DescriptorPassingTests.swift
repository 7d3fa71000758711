import BatonOS
import BatonTestSupport
import CShims
import Glibc
import Testing

/// Descriptors handed over a socketpair, as a daemon hands its listeners and its root lock to
/// its successor: what arrives is the same open file, and nothing that was refused stays open.
@Suite struct DescriptorPassingTests {
    @Test func aPassedPipeWriteEndWritesIntoTheSendersPipe() throws {
        let (a, b) = try DescriptorPassing.socketPair()
        defer { close(a); close(b) }
        let pipe = try Pipe()
        defer { pipe.closeBoth() }
        // Sent without close-on-exec: the flag on arrival is the receiver's doing.
        #expect(fcntl(pipe.write, F_SETFD, 0) == 0)
        try DescriptorPassing.send(socket: a, payload: Array("pipe".utf8), descriptors: [pipe.write])
        pipe.closeWrite()

        let message = try #require(try DescriptorPassing.receive(socket: b, deadline: .now + .seconds(30)))
        #expect(message.payload == Array("pipe".utf8))
        let received = try #require(message.descriptors.first)
        #expect(message.descriptors.count == 1)
        #expect(fcntl(received, F_GETFD) & FD_CLOEXEC != 0)
        #expect(write(received, "hello", 5) == 5)
        close(received)
        // The received copy was the last writer: the reader gets the bytes, then the end.
        #expect(pipe.readAll() == Array("hello".utf8))
    }

    @Test func threeDescriptorsArriveInTheirOrderWithThePayload() throws {
        let dir = TempDir(prefix: "baton-fdpass")
        defer { dir.remove() }
        let (a, b) = try DescriptorPassing.socketPair()
        defer { close(a); close(b) }
        let sent = try ["one", "two", "three"].map { name throws(OSError) in
            try sys("open \(name)") { open(dir.sub(name), O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        }
        defer { sent.forEach { close($0) } }
        let payload = Array("listeners: proxy tls metrics".utf8)
        try DescriptorPassing.send(socket: a, payload: payload, descriptors: sent)

        let message = try #require(try DescriptorPassing.receive(socket: b, deadline: .now + .seconds(30)))
        defer { message.descriptors.forEach { close($0) } }
        #expect(message.payload == payload)
        #expect(message.descriptors.map(inode) == sent.map(inode))
        #expect(Set(message.descriptors).isDisjoint(with: sent))
        #expect(message.descriptors.allSatisfy { fcntl($0, F_GETFD) & FD_CLOEXEC != 0 })
    }

    @Test func anFlockTravelsWithItsDescriptor() throws {
        let dir = TempDir(prefix: "baton-fdpass")
        defer { dir.remove() }
        let path = dir.sub("daemon.lock")
        let (a, b) = try DescriptorPassing.socketPair()
        defer { close(a); close(b) }
        let holder = try sys("open") { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        try sys("flock") { flock(holder, LOCK_EX | LOCK_NB) }
        try DescriptorPassing.send(socket: a, payload: [1], descriptors: [holder])
        close(holder)

        let message = try #require(try DescriptorPassing.receive(socket: b, deadline: .now + .seconds(30)))
        let received = try #require(message.descriptors.first)
        let other = try sys("open") { open(path, O_RDWR | O_CLOEXEC) }
        defer { close(other) }
        // The sender's copy is closed; the lock lives on in the receiver's.
        #expect(flock(other, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK)
        close(received)
        // Free now. Retried only because another test's fork may hold a copy until it execs.
        let bound = ContinuousClock.now + .seconds(30)
        var taken = flock(other, LOCK_EX | LOCK_NB) == 0
        while !taken && ContinuousClock.now < bound {
            usleep(10_000)
            taken = flock(other, LOCK_EX | LOCK_NB) == 0
        }
        #expect(taken)
    }

    @Test func moreDescriptorsThanTheReceiverTakesAreRefusedAndNoneStaysOpen() throws {
        let (a, b) = try DescriptorPassing.socketPair()
        defer { close(a); close(b) }
        let pipe = try Pipe()
        defer { pipe.closeBoth() }
        // 20 copies of the write end: any one left open in this process keeps the pipe open.
        let copies = (0..<20).map { _ in fcntl(pipe.write, F_DUPFD_CLOEXEC, 0) }
        #expect(copies.allSatisfy { $0 >= 0 })
        let payload: [UInt8] = [7]
        let sent = copies.withUnsafeBufferPointer { fds in
            bt_send_descriptors(a, payload, 1, fds.baseAddress, Int32(fds.count), 0)
        }
        #expect(sent == 1)
        copies.forEach { close($0) }
        pipe.closeWrite()

        #expect {
            _ = try DescriptorPassing.receive(socket: b, deadline: .now + .seconds(30))
        } throws: { ($0 as? OSError)?.errno == EMSGSIZE }
        // Neither the 16 that arrived nor the 4 that did not are open anywhere: the pipe ends.
        #expect(pipe.readAll() == [])
        // The refused message is gone, the socket still works.
        try DescriptorPassing.send(socket: a, payload: [8], descriptors: [])
        #expect(try DescriptorPassing.receive(socket: b, deadline: .now + .seconds(30))?.payload == [8])
    }

    @Test func aTruncatedPayloadIsRefusedAndItsDescriptorsClosed() throws {
        let (a, b) = try DescriptorPassing.socketPair()
        defer { close(a); close(b) }
        let pipe = try Pipe()
        defer { pipe.closeBoth() }
        try DescriptorPassing.send(socket: a, payload: [UInt8](repeating: 1, count: 100), descriptors: [pipe.write])
        pipe.closeWrite()

        #expect {
            _ = try DescriptorPassing.receive(socket: b, maxPayload: 10, deadline: .now + .seconds(30))
        } throws: { ($0 as? OSError)?.errno == EMSGSIZE }
        #expect(pipe.readAll() == [])
    }

    @Test func theLargestPayloadAndTheMostDescriptorsGoThrough() throws {
        let (a, b) = try DescriptorPassing.socketPair()
        defer { close(a); close(b) }
        let payload = (0..<65536).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let sent = (0..<DescriptorPassing.maxDescriptors).map { _ in fcntl(a, F_DUPFD_CLOEXEC, 0) }
        defer { sent.forEach { close($0) } }
        try DescriptorPassing.send(socket: a, payload: payload, descriptors: sent)
        let message = try #require(try DescriptorPassing.receive(socket: b, deadline: .now + .seconds(30)))
        defer { message.descriptors.forEach { close($0) } }
        #expect(message.payload == payload)
        #expect(message.descriptors.count == DescriptorPassing.maxDescriptors)
    }

    @Test func sendRefusesWhatTheReceiverCouldNotTellApart() throws {
        let (a, b) = try DescriptorPassing.socketPair()
        defer { close(a); close(b) }
        #expect { try DescriptorPassing.send(socket: a, payload: [], descriptors: []) } throws: { ($0 as? OSError)?.errno == EINVAL }
        let tooMany = [Int32](repeating: a, count: DescriptorPassing.maxDescriptors + 1)
        #expect { try DescriptorPassing.send(socket: a, payload: [1], descriptors: tooMany) } throws: { ($0 as? OSError)?.errno == EINVAL }
        #expect {
            try DescriptorPassing.send(socket: a, payload: [UInt8](repeating: 0, count: 65537), descriptors: [])
        } throws: { ($0 as? OSError)?.errno == EMSGSIZE }
        // Nothing was sent: the next message is the first the receiver sees.
        try DescriptorPassing.send(socket: a, payload: [9], descriptors: [])
        #expect(try DescriptorPassing.receive(socket: b, deadline: .now + .seconds(30))?.payload == [9])
    }

    @Test func thePeerClosingEndsTheStream() throws {
        let (a, b) = try DescriptorPassing.socketPair()
        defer { close(b) }
        try DescriptorPassing.send(socket: a, payload: [1], descriptors: [])
        close(a)
        // What was sent before the close still arrives, then the end.
        #expect(try DescriptorPassing.receive(socket: b, deadline: .now + .seconds(30))?.payload == [1])
        #expect(try DescriptorPassing.receive(socket: b, deadline: .now + .seconds(30)) == nil)
    }

    @Test func nothingByTheDeadlineIsATimeoutButAWaitingMessageIsStillTaken() throws {
        let (a, b) = try DescriptorPassing.socketPair()
        defer { close(a); close(b) }
        #expect {
            _ = try DescriptorPassing.receive(socket: b, deadline: .now + .milliseconds(50))
        } throws: { ($0 as? OSError)?.errno == ETIMEDOUT }
        try DescriptorPassing.send(socket: a, payload: [2], descriptors: [])
        #expect(try DescriptorPassing.receive(socket: b, deadline: .now - .seconds(1))?.payload == [2])
    }

    @Test func aStreamSocketCarriesOneMessageAtATime() throws {
        var pair: [Int32] = [-1, -1]
        try sys("socketpair") { socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) }
        defer { close(pair[0]); close(pair[1]) }
        let pipe = try Pipe()
        defer { pipe.closeBoth() }
        try DescriptorPassing.send(socket: pair[0], payload: Array("stream".utf8), descriptors: [pipe.write])
        let message = try #require(try DescriptorPassing.receive(socket: pair[1], deadline: .now + .seconds(30)))
        defer { message.descriptors.forEach { close($0) } }
        #expect(message.payload == Array("stream".utf8))
        #expect(message.descriptors.map(inode) == [inode(pipe.write)])
    }

    private func inode(_ fd: Int32) -> UInt {
        var info = stat()
        return fstat(fd, &info) == 0 ? UInt(info.st_ino) : 0
    }
}

/// A close-on-exec pipe whose reader sees the end only once every copy of the write end closed.
private final class Pipe {
    let read: Int32
    private(set) var write: Int32

    init() throws(OSError) {
        var fds: [Int32] = [-1, -1]
        try sys("pipe") { bt_pipe_cloexec(&fds) }
        read = fds[0]
        write = fds[1]
    }

    func closeWrite() {
        if write >= 0 { close(write) }
        write = -1
    }

    func closeBoth() {
        closeWrite()
        close(read)
    }

    /// Everything until the end of the pipe; fails the test if no end comes within 30 s.
    func readAll() -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        while true {
            var entry = pollfd(fd: read, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 30_000) == 1 else {
                Issue.record("a write end of the pipe is still open")
                return bytes
            }
            let count = Glibc.read(read, &buffer, buffer.count)
            if count <= 0 { return bytes }
            bytes += buffer[..<count]
        }
    }
}
