import BatonOS
import BatonTestSupport
import Glibc
import Testing

/// Listeners made before any event loop, so a daemon can hand them on and its successor can
/// tell which configured address each one is.
@Suite struct ListeningSocketTests {
    @Test func aFreePortOnLoopbackListensAndSaysWhere() throws {
        let fd = try ListeningSocket.tcp(host: "127.0.0.1", port: 0)
        defer { close(fd) }
        #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0)
        guard case .tcp(let host, let port) = try #require(ListeningSocket.address(of: fd)) else {
            Issue.record("not a TCP address")
            return
        }
        #expect(host == "127.0.0.1")
        #expect(port > 0)
        #expect(ListeningSocket.address(of: fd)?.description == "127.0.0.1:\(port)")

        let client = try sys("socket") { socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        defer { close(client) }
        try TCPConnect.connect(client, ip: "127.0.0.1", port: port, deadline: SocketDeadline(after: .seconds(30)))
        let accepted = try sys("accept") { accept(fd, nil, nil) }
        close(accepted)
    }

    @Test func aPortInUseIsRefusedNamingTheAddress() throws {
        let first = try ListeningSocket.tcp(host: "127.0.0.1", port: 0)
        defer { close(first) }
        guard case .tcp(_, let port) = try #require(ListeningSocket.address(of: first)) else { return }
        do {
            let second = try ListeningSocket.tcp(host: "127.0.0.1", port: port)
            close(second)
            Issue.record("a second listener took 127.0.0.1:\(port)")
        } catch {
            #expect(error.errno == EADDRINUSE)
            #expect(error.operation == "bind 127.0.0.1:\(port)")
        }
    }

    @Test(.enabled(if: ipv6OnLoopback, "the kernel has no IPv6 on lo"))
    func anIPv6LoopbackListenerPrintsInBrackets() throws {
        let fd = try ListeningSocket.tcp(host: "::1", port: 0)
        defer { close(fd) }
        guard case .tcp(let host, let port) = try #require(ListeningSocket.address(of: fd)) else { return }
        #expect(host == "::1")
        #expect(ListeningSocket.address(of: fd)?.description == "[::1]:\(port)")
    }

    @Test func aStaleUnixSocketFileIsReplacedAndAnythingElseRefused() throws {
        let dir = TempDir(prefix: "baton-listen")
        defer { dir.remove() }
        let path = dir.sub("control.sock")
        // A listener that is gone leaves its file behind.
        close(try ListeningSocket.unix(path: path))
        let fd = try ListeningSocket.unix(path: path)
        defer { close(fd) }
        #expect(ListeningSocket.address(of: fd) == .unix(path: path))
        #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0)
        // The new listener owns the file: a client reaches it.
        let client = try connectUnix(path)
        close(client)
        close(try sys("accept") { accept(fd, nil, nil) })

        let file = dir.sub("state.db")
        let created = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        #expect(write(created, "data", 4) == 4)
        close(created)
        #expect { _ = try ListeningSocket.unix(path: file) } throws: { ($0 as? OSError)?.errno == EEXIST }
        var info = stat()
        #expect(lstat(file, &info) == 0 && info.st_mode & S_IFMT == S_IFREG && info.st_size == 4)
    }

    @Test func onlyAListeningStreamSocketHasAnAddress() throws {
        let listener = try ListeningSocket.tcp(host: "127.0.0.1", port: 0)
        defer { close(listener) }
        guard case .tcp(_, let port) = try #require(ListeningSocket.address(of: listener)) else { return }
        let client = try sys("socket") { socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        defer { close(client) }
        try TCPConnect.connect(client, ip: "127.0.0.1", port: port, deadline: SocketDeadline(after: .seconds(30)))
        let accepted = try sys("accept") { accept(listener, nil, nil) }
        defer { close(accepted) }
        #expect(ListeningSocket.address(of: client) == nil)
        #expect(ListeningSocket.address(of: accepted) == nil)

        let bound = try ReservedPort()
        let boundFD = bound.takeSocket()
        defer { close(boundFD) }
        #expect(ListeningSocket.address(of: boundFD) == nil)

        var fds: [Int32] = [-1, -1]
        try sys("pipe") { pipe(&fds) }
        defer { close(fds[0]); close(fds[1]) }
        #expect(ListeningSocket.address(of: fds[0]) == nil)
        let (a, b) = try DescriptorPassing.socketPair()
        defer { close(a); close(b) }
        #expect(ListeningSocket.address(of: a) == nil)
    }

    @Test func namesResolveToTheNumericAddressesAListenerReports() throws {
        #expect(ListeningSocket.addresses(host: "localhost", port: 8080).contains(.tcp(host: "127.0.0.1", port: 8080)))
        #expect(ListeningSocket.addresses(host: "127.0.0.1", port: 0) == [.tcp(host: "127.0.0.1", port: 0)])
        #expect(ListeningSocket.addresses(host: "127.0.0.1", port: 70000) == [])

        let fd = try ListeningSocket.tcp(host: "localhost", port: 0)
        defer { close(fd) }
        guard case .tcp(let host, let port) = try #require(ListeningSocket.address(of: fd)) else { return }
        #expect(ListeningSocket.addresses(host: "localhost", port: port).contains(.tcp(host: host, port: port)))
    }

    @Test func descriptionsAreWhatAnOperatorTypes() {
        #expect(ListenAddress.tcp(host: "127.0.0.1", port: 8080).description == "127.0.0.1:8080")
        #expect(ListenAddress.tcp(host: "::1", port: 8080).description == "[::1]:8080")
        #expect(ListenAddress.unix(path: "/run/baton/control.sock").description == "/run/baton/control.sock")
    }

    private func connectUnix(_ path: String) throws -> Int32 {
        let fd = try sys("socket") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        do {
            try sys("connect \(path)") {
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
                }
            }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }
}

/// Whether ::1 can be bound here: kernels and containers without IPv6 on lo skip that test.
private let ipv6OnLoopback: Bool = {
    let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in6()
    address.sin6_family = sa_family_t(AF_INET6)
    address.sin6_addr = in6addr_loopback
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
    } == 0
}()
