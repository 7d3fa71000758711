import BatonProxy
import Foundation
import Glibc
import Testing

/// Thousands of mutated requests: every one gets an answer or a close, and the proxy still
/// serves a clean request afterwards.
@Suite(.serialized) struct FuzzTests {
    static let seeds = [
        "GET /a HTTP/1.1\r\nHost: app.test\r\n\r\n",
        "POST /upload HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\n\r\nhello",
        "POST /upload HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "GET /b HTTP/1.0\r\nHost: x.wild.test\r\nConnection: keep-alive\r\n\r\n",
    ]

    @Test func mutatedRequestsNeverTakeTheProxyDown() async throws {
        try await ProxyFixture.with(configure: { $0.clientHeaderTimeout = .milliseconds(500) }) { fixture in
            let port = fixture.port
            // Thousands of blocking reads: on a thread of their own, not one of the few that
            // every other suite's tasks run on.
            let answered = try await offThePool { try Self.sendMutatedRequests(port: port) }
            #expect(answered > 1000)
            let client = try fixture.client()
            try client.send("GET /still-up HTTP/1.1\r\nHost: app.test\r\n\r\n")
            #expect(try client.readResponse().text == "hello /still-up")
        }
    }

    /// Sends 4000 mutated seeds, half of them with the write side shut; returns how many got
    /// any answer.
    static func sendMutatedRequests(port: Int) throws -> Int {
        var random = SystemRandomNumberGenerator()
        let alphabet = Array(" \r\n:\t;,0123456789aAzZ\u{0}\u{7f}\u{ff}-/?#%".utf8)
        var answered = 0
        for batch in 0..<20 {
            var clients: [RawClient] = []
            for index in 0..<200 {
                let round = batch * 200 + index
                var bytes = Array(Self.seeds[round % Self.seeds.count].utf8)
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    let position = Int.random(in: 0..<bytes.count, using: &random)
                    switch Int.random(in: 0..<4, using: &random) {
                    case 0: bytes[position] = alphabet.randomElement(using: &random)!
                    case 1: bytes.insert(alphabet.randomElement(using: &random)!, at: position)
                    case 2: bytes.remove(at: position)
                    default: bytes.insert(contentsOf: bytes[position..<min(bytes.count, position + 8)], at: position)
                    }
                    if bytes.isEmpty { bytes = [0] }
                }
                let client = try RawClient(port: port, timeout: 3)
                try? client.send(bytes)
                if round % 2 == 0 { shutdown(client.fd, Int32(SHUT_WR)) }
                clients.append(client)
            }
            for client in clients where !client.readSome().isEmpty { answered += 1 }
        }
        return answered
    }
}
