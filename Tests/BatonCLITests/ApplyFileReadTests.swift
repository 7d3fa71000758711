import BatonOS
@testable import BatonCLI
import Glibc
import Testing

/// `baton apply` reads the file itself and sends its text to the daemon to parse.
@Suite struct ApplyFileReadTests {
    @Test func aMissingFileIsNamed() {
        #expect(throws: BatonError.self) { try ApplyCommand.read("/nonexistent/baton.yml") }
        do {
            _ = try ApplyCommand.read("/nonexistent/baton.yml")
        } catch {
            #expect(error.code == .notFound)
            #expect(error.message.contains("/nonexistent/baton.yml"))
        }
    }

    @Test func bytesThatAreNotUTF8AreRefused() throws {
        let path = "/tmp/baton-apply-read-\(getpid()).yml"
        defer { unlink(path) }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        #expect(fd >= 0)
        let bytes: [UInt8] = [0x61, 0x70, 0x70, 0x73, 0x3a, 0xff, 0xfe]
        #expect(write(fd, bytes, bytes.count) == bytes.count)
        close(fd)
        do {
            _ = try ApplyCommand.read(path)
            Issue.record("invalid UTF-8 was accepted")
        } catch {
            #expect(error.code == .invalidArgument)
        }
    }

    @Test func aFileIsReadWhole() throws {
        let path = "/tmp/baton-apply-read-\(getpid())-ok.yml"
        defer { unlink(path) }
        let text = "apps:\n  web:\n    upstream: 127.0.0.1:9000\n    hosts: [w.test]\n"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        #expect(write(fd, text, text.utf8.count) == text.utf8.count)
        close(fd)
        #expect(try ApplyCommand.read(path) == text)
    }
}
