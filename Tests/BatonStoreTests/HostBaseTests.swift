import BatonOS
import Foundation
import Glibc
import Testing
@testable import BatonStore

@Suite struct HostBaseTests {
    @Test(.enabled(if: isRoot, "requires root"))
    func hostBaseHasMinimalEtcNoSecretsAndIsNotReproducible() throws {
        let temp = TempDir()
        defer { temp.remove() }
        let store = try ArtifactStore(root: temp.sub("root"))
        try Tree.sample(at: temp.sub("app"))
        var options = PublishOptions()
        options.base = .host
        options.cmd = ["/bin/sh", "-c", "echo hi"]
        _ = try store.publish("hosted:1", directory: temp.sub("app"), options: options)
        let artifact = try store.resolve("hosted:1")
        #expect(artifact.hostBase)
        #expect(!artifact.reproducible)
        #expect(artifact.base == "host")
        #expect(artifact.hostBindPaths.contains("/usr"))
        #expect(artifact.layers.count == 2)
        let details = try store.inspect("hosted:1")
        #expect(details.reproducible == false)

        let layers = try store.unpackedLayers(of: artifact)
        let host = layers[1]
        let passwd = try String(contentsOfFile: host + "/etc/passwd", encoding: .utf8)
        #expect(passwd.hasPrefix("root:x:0:0:"))
        #expect(passwd == HostBase.passwd)
        for secret in ["etc/shadow", "etc/gshadow", "etc/ssh", "etc/ssl/private", "etc/sudoers"] {
            #expect(!FileIO.exists(host + "/" + secret), "\(secret) must not be copied")
        }
        #expect(PathName.isDirectory(host + "/usr"))
        #expect(PathName.isDirectory(host + "/tmp") && PathName.isDirectory(host + "/proc"))
        for name in HostBase.libraryDirectories {
            var info = stat()
            guard lstat("/" + name, &info) == 0 else { continue }
            if info.st_mode & S_IFMT == S_IFLNK {
                #expect(try FileManager.default.destinationOfSymbolicLink(atPath: host + "/" + name)
                    == FileManager.default.destinationOfSymbolicLink(atPath: "/" + name))
            } else {
                #expect(artifact.hostBindPaths.contains("/" + name))
            }
        }
        if FileIO.exists("/etc/ld.so.cache") { #expect(FileIO.exists(host + "/etc/ld.so.cache")) }

        // Stacking on a host-based artifact keeps it host-based and not reproducible.
        var stacked = PublishOptions()
        stacked.base = .artifact("hosted:1")
        try Tree.write(temp.sub("extra/x"), "x")
        _ = try store.publish("stacked:1", directory: temp.sub("extra"), options: stacked)
        let top = try store.resolve("stacked:1")
        #expect(top.hostBase && !top.reproducible && top.layers.count == 3)
    }
}
