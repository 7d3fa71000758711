import BatonProxy
import Foundation
import Glibc
import Testing

func residentBytes() -> Int {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
}

@Suite(.serialized) struct StreamingTests {
    @Test func largeDownloadStreamsWithBoundedMemory() async throws {
        try await ProxyFixture.with { fixture in
            let size = 1 << 30
            let client = try fixture.client(timeout: 60)
            let before = residentBytes()
            try client.send("GET /big/\(size) HTTP/1.1\r\nHost: app.test\r\n\r\n")
            // Not reading for a while: the proxy must stop reading from the backend, not buffer.
            try await Task.sleep(for: .milliseconds(800))
            let stalled = residentBytes()
            let response = try client.readResponse(discardBody: true)
            #expect(response.status == 200)
            #expect(response.bodyLength == size)
            #expect(stalled - before < 64 << 20, "memory grew \(stalled - before) bytes while the client stalled")
            #expect(residentBytes() - before < 128 << 20)
        }
    }

    @Test func largeChunkedUploadStreams() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client(timeout: 60)
            try client.send("POST /upload HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n")
            let chunk = [UInt8](repeating: 65, count: 1 << 20)
            let header = Array("100000\r\n".utf8)
            let before = residentBytes()
            for _ in 0..<256 { try client.send(header + chunk + Array("\r\n".utf8)) }
            try client.send("0\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.text == "received \(256 << 20)")
            #expect(residentBytes() - before < 128 << 20)
        }
    }

    @Test func expectContinueIsRelayed() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            try client.send("POST /upload HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
            #expect(try client.readLine() == "HTTP/1.1 100 Continue")
            while try !client.readLine().isEmpty {}
            try client.send("hello")
            #expect(try client.readResponse().text == "received 5")
        }
    }

    @Test func serverSentEventsAreNotBuffered() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            let start = ContinuousClock.now
            try client.send("GET /sse HTTP/1.1\r\nHost: app.test\r\n\r\n")
            #expect(try client.readLine() == "HTTP/1.1 200 OK")
            while try !client.readLine().isEmpty {}
            _ = try client.readLine()  // chunk size
            #expect(try client.readLine() == "data: one")
            #expect(ContinuousClock.now - start < .milliseconds(1000), "first event must arrive before the stream ends")
        }
    }

    @Test func websocketUpgradeIsTunnelledByteForByte() async throws {
        try await ProxyFixture.with { fixture in
            let upstream = try UpgradeEchoServer()
            defer { upstream.stop() }
            fixture.proxy.install(RouteTable([("ws.test", Route(app: "ws", target: .address(host: "127.0.0.1", port: upstream.port)))]))
            let client = try fixture.client()
            try client.send("GET /chat HTTP/1.1\r\nHost: ws.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            let head = try client.readResponse()
            #expect(head.status == 101)
            #expect(head.header("upgrade") == "websocket")
            #expect(try client.readExactly(5) == Array("hello".utf8))
            let payload: [UInt8] = (0..<100_000).map { UInt8($0 % 251) }
            try client.send(payload)
            #expect(try client.readExactly(payload.count) == payload)
            #expect(fixture.proxy.inFlight(target: .address(host: "127.0.0.1", port: upstream.port)) == 1)
        }
    }
}

/// A server that answers a request asking to upgrade with 101, says `greeting`, then echoes
/// bytes; any other request it never answers (it stands for a slow one). A thread per
/// connection, until `stop()`.
final class UpgradeEchoServer: @unchecked Sendable {
    // The listening fd is written once in init and read by the thread: no concurrent mutation.
    let fd: Int32
    let port: Int

    init(greeting: String = "hello") throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        listen(fd, 8)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        port = Int(UInt16(bigEndian: address.sin_port))
        let listener = fd
        Thread.detachNewThread {
            while true {
                let connection = accept(listener, nil, nil)
                guard connection >= 0 else { return }
                Thread.detachNewThread { Self.serve(connection, greeting: greeting) }
            }
        }
    }

    private static func serve(_ connection: Int32, greeting: String) {
        defer { close(connection) }
        var seen: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !seen.suffix(4).elementsEqual(Array("\r\n\r\n".utf8)) {
            let count = recv(connection, &buffer, 1, 0)
            if count <= 0 { return }
            seen.append(buffer[0])
        }
        guard String(decoding: seen, as: UTF8.self).lowercased().contains("upgrade: websocket") else {
            // Never answered: held until the peer closes.
            while recv(connection, &buffer, buffer.count, 0) > 0 {}
            return
        }
        let reply = Array("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\(greeting)".utf8)
        _ = send(connection, reply, reply.count, Int32(MSG_NOSIGNAL))
        while true {
            let count = recv(connection, &buffer, buffer.count, 0)
            if count <= 0 { return }
            _ = send(connection, buffer, count, Int32(MSG_NOSIGNAL))
        }
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}
