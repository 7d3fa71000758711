import BatonOS
@testable import BatonCLI
import Glibc
import Testing

/// `--secret-file K=PATH`: the CLI reads the file and sends its bytes; what cannot be a secret
/// is refused in one message that names the file and never its contents.
@Suite final class SecretFileTests {
    let directory: String

    init() {
        directory = "/tmp/baton-secret-file-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        mkdir(directory, 0o700)
    }

    // Each test gets an instance of its own: whatever it made goes with it, passed or failed.
    deinit { cleanUp() }

    private func file(_ name: String, _ bytes: [UInt8]) -> String {
        let path = directory + "/" + name
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        _ = write(fd, bytes, bytes.count)
        close(fd)
        return path
    }

    private func cleanUp() {
        for name in ["ok", "big", "binary", "fifo"] { unlink(directory + "/" + name) }
        rmdir(directory)
    }

    @Test func theFilesBytesAreTheValueTrailingNewlineIncluded() throws {
        let path = file("ok", Array("hunter2\n".utf8))
        #expect(try SecretFile.entries(["TOKEN=\(path)"]) == ["TOKEN=hunter2\n"])
    }

    @Test func aMissingFileIsNotFoundAndNamed() {
        #expect {
            try SecretFile.read(directory + "/absent")
        } throws: { error in
            let error = error as? BatonError
            return error?.code == .notFound && error?.message == "cannot read secret file \(directory)/absent: No such file or directory (errno 2)"
        }
    }

    @Test func aFileOver64KiBIsRefused() {
        let path = file("big", [UInt8](repeating: UInt8(ascii: "x"), count: (64 << 10) + 1))
        #expect { try SecretFile.read(path) } throws: { error in
            (error as? BatonError)?.message == "secret file \(path) is larger than 65536 bytes (64 KiB)"
        }
        #expect(throws: Never.self) { try SecretFile.read(file("big", [UInt8](repeating: UInt8(ascii: "x"), count: 64 << 10))) }
    }

    @Test func aDirectoryAPipeOrBytesThatAreNotTextAreRefused() {
        #expect(throws: BatonError.self) { try SecretFile.read(directory) }
        // A FIFO would block the CLI until someone writes to it.
        mkfifo(directory + "/fifo", 0o600)
        #expect { try SecretFile.read(directory + "/fifo") } throws: { error in
            (error as? BatonError)?.message == "secret file \(directory)/fifo is not a regular file"
        }
        let binary = file("binary", [0x68, 0xff, 0xfe])
        #expect { try SecretFile.read(binary) } throws: { error in
            (error as? BatonError)?.message == "secret file \(binary) is not UTF-8 text"
        }
    }

    @Test func aFlagWithoutKeyOrPathIsRefused() {
        for flag in ["TOKEN", "=path", "TOKEN="] {
            #expect(SecretFile.parse(flag) == nil, "\(flag)")
        }
        #expect(SecretFile.parse("TOKEN=/run/a=b")! == ("TOKEN", "/run/a=b"))
    }
}
