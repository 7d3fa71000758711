import BatonTestSupport
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
        let binds = try store.hostBindPaths(of: artifact)
        #expect(!artifact.reproducible)
        #expect(artifact.base == "host")
        #expect(binds.contains("/usr"))
        #expect(binds.allSatisfy { HostDirectories.bindable.contains($0) })
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
                #expect(binds.contains("/" + name))
            }
        }
        if FileIO.exists("/etc/ld.so.cache") { #expect(FileIO.exists(host + "/etc/ld.so.cache")) }

        // Stacking on a host-based artifact keeps it host-based and not reproducible.
        var stacked = PublishOptions()
        stacked.base = .artifact("hosted:1")
        try Tree.write(temp.sub("extra/x"), "x")
        _ = try store.publish("stacked:1", directory: temp.sub("extra"), options: stacked)
        let top = try store.resolve("stacked:1")
        #expect(try store.hostBindPaths(of: top) == binds)
        #expect(!top.reproducible && top.layers.count == 3)
    }

    /// An image whose config asks for host binds (`/.`, the state root) is imported: it is
    /// granted none. Only this host's `publish --base host` grants binds, and only the fixed set.
    @Test(.enabled(if: isRoot, "requires root"))
    func anImportedImageThatAsksForHostBindsGetsNone() throws {
        let temp = TempDir()
        defer { temp.remove() }
        let store = try ArtifactStore(root: temp.sub("root"))
        try Tree.sample(at: temp.sub("app"))
        var options = PublishOptions()
        options.cmd = ["/bin/sh"]
        _ = try store.publish("plain:1", directory: temp.sub("app"), options: options)
        for request in ["/.", "/etc,/var/lib/baton", "/usr"] {
            let archive = try ForgedImage.archive(from: store, ref: "plain:1", labels: [AnnotationKey.hostBinds: request],
                                                  in: temp.sub("forged-\(request.count)"))
            let imported = try store.importArchive(archive, name: "forged\(request.count):1")
            let artifact = try store.resolve(imported.name)
            #expect(artifact.config.labels[AnnotationKey.hostBinds] == request, "the label really is in the config")
            #expect(try store.hostBindPaths(of: artifact).isEmpty)
            #expect(try store.inspect(imported.name).hostBinds.isEmpty)

            // Stacking on it with a local publish does not launder the request either.
            var stacked = PublishOptions()
            stacked.base = .artifact(imported.name)
            let top = try store.publish("on-forged\(request.count):1", directory: temp.sub("app"), options: stacked)
            #expect(try store.hostBindPaths(of: store.resolve(top.digest)).isEmpty)
        }
    }

    /// A grant file that names anything outside the fixed set refuses the run instead of
    /// binding it.
    @Test func aGrantOutsideTheFixedSetIsRefused() throws {
        let temp = TempDir()
        defer { temp.remove() }
        let store = try ArtifactStore(root: temp.sub("root"))
        try Tree.sample(at: temp.sub("app"))
        let published = try store.publish("plain:1", directory: temp.sub("app"))
        let artifact = try store.resolve(published.digest)
        let grants = HostBindGrants(layout: StoreLayout(root: temp.sub("root")))
        try FileIO.makeDirectories(grants.directory)
        for bad in ["/", "/etc", "/usr/../etc", "/usr/", "//usr", "/var/lib/baton", "usr"] {
            try FileIO.writeAtomically(Array("\(bad)\n".utf8), to: grants.path(artifact.manifestDescriptor.digest))
            #expect(throws: BatonError.self, "\(bad)") { try store.hostBindPaths(of: artifact) }
        }
    }
}
