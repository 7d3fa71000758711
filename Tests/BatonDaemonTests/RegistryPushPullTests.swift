import BatonTestSupport
import Foundation
import Glibc
import Testing

/// Push and pull against a real registry (Debian's docker-registry), with skopeo as the
/// independent second client: what Baton pushes, skopeo copies back byte for byte; what
/// skopeo pushes (gzip and zstd layers, OCI and Docker schema 2), Baton pulls and runs.
@Suite(.serialized) struct RegistryPushPullTests {
    static let ready = geteuid() == 0 && RegistryServer.available && RegistryCLI.skopeo != nil

    /// A root with `base:1` (busybox) and `app:N` on it, whose /msg says "message N".
    static func rootWithApps(_ versions: [Int]) throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("baton-reg-\(UUID().uuidString.prefix(8))").path
        try DeployFixture.publishBase(root: root)
        for version in versions { try publishApp(version, root: root) }
        return root
    }

    static func publishApp(_ version: Int, root: String) throws {
        let source = "\(root)/src/app\(version)"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try "message \(version)\n".write(toFile: source + "/msg", atomically: true, encoding: .utf8)
        let published = try RegistryCLI.baton(
            ["artifact", "publish", "app:\(version)", source, "--base", "base:1", "--cmd", "/bin/cat /msg"], root: root)
        guard published.status == 0 else { throw DaemonProcessError("publish app:\(version): \(published.stderr)") }
    }

    /// The stored manifest of `digest` under `root`, parsed.
    static func manifest(_ digest: String, root: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(root)/store/blobs/sha256/\(digest.dropFirst(7))"))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    static func blobs(of digest: String, root: String) throws -> [(digest: String, size: Int)] {
        let manifest = try manifest(digest, root: root)
        let config = manifest["config"] as? [String: Any] ?? [:]
        let layers = manifest["layers"] as? [[String: Any]] ?? []
        return ([config] + layers).map { ($0["digest"] as? String ?? "", $0["size"] as? Int ?? -1) }
    }

    /// "N blobs sent (B bytes), M already there, K mounted" from a push's stderr.
    static func pushFigures(_ stderr: String) -> (sent: Int, bytes: Int, present: Int, mounted: Int)? {
        guard let line = stderr.split(separator: "\n").last(where: { $0.hasPrefix("pushed ") }) else { return nil }
        let numbers = line.split(separator: ":").last!.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        return numbers.count == 4 ? (numbers[0], numbers[1], numbers[2], numbers[3]) : nil
    }

    @Test(.enabled(if: ready, "requires root, docker-registry and skopeo"))
    func pushedArtifactComesBackByteIdenticalThroughSkopeoAndPullsAndRuns() throws {
        let registry = try RegistryServer()
        defer { registry.stop() }
        let root = try Self.rootWithApps([1, 2])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let other = root + "-pulled"
        defer { try? FileManager.default.removeItem(atPath: other) }
        let copy = root + "-skopeo"
        defer { try? FileManager.default.removeItem(atPath: copy) }

        let pushed = try RegistryCLI.baton(["artifact", "push", "app:1", "\(registry.host)/team/app:1", "--insecure"], root: root)
        #expect(pushed.status == 0, "\(pushed.stderr)")
        let digest = RegistryCLI.lastLine(pushed)
        let inspect = try RegistryCLI.baton(["artifact", "inspect", "app:1", "--json"], root: root)
        #expect(inspect.stdout.contains("\"digest\" : \"\(digest)\"") || inspect.stdout.contains("\"digest\":\"\(digest)\""),
                "the pushed manifest's digest must be the artifact's: \(digest) vs \(inspect.stdout)")
        let first = try #require(Self.pushFigures(pushed.stderr), "\(pushed.stderr)")
        #expect(first.sent == 3 && first.present == 0, "config and two layers go up: \(pushed.stderr)")

        // skopeo, another client, copies it back out: same manifest digest, same blob bytes.
        let copied = try RegistryCLI.program(RegistryCLI.skopeo!, [
            "copy", "--src-tls-verify=false", "--preserve-digests", "--dest-oci-accept-uncompressed-layers",
            "docker://\(registry.host)/team/app:1", "oci:\(copy):app",
        ])
        #expect(copied.status == 0, "\(copied.stderr)")
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: copy + "/index.json"))) as? [String: Any]
        let copiedDigest = ((index?["manifests"] as? [[String: Any]])?.first?["digest"] as? String) ?? ""
        #expect(copiedDigest == digest)
        for blob in try Self.blobs(of: digest, root: root) + [(digest, 0)] {
            let hex = blob.digest.dropFirst(7)
            let ours = try Data(contentsOf: URL(fileURLWithPath: "\(root)/store/blobs/sha256/\(hex)"))
            let theirs = try Data(contentsOf: URL(fileURLWithPath: "\(copy)/blobs/sha256/\(hex)"))
            #expect(ours == theirs, "blob \(blob.digest) differs after the round trip")
        }

        // A fresh root pulls it by tag, records where it came from, and runs it.
        let pulled = try RegistryCLI.baton(["artifact", "pull", "\(registry.host)/team/app:1", "--insecure"], root: other)
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(RegistryCLI.lastLine(pulled) == digest)
        let storeIndex = try String(contentsOfFile: other + "/store/index.json", encoding: .utf8)
        #expect(storeIndex.contains("\(registry.host)/team/app:1@\(digest)"), "the pull records its source: \(storeIndex)")
        #expect(storeIndex.contains("\"team/app:1\""))
        let ran = try RegistryCLI.baton(["run", "--rm", "team/app:1"], root: other)
        #expect(ran.status == 0, "\(ran.stderr)")
        #expect(ran.stdout == "message 1\n")

        // A second pull of the same thing downloads nothing.
        let again = try RegistryCLI.baton(["artifact", "pull", "\(registry.host)/team/app:1", "--insecure"], root: other)
        #expect(again.status == 0 && again.stderr.contains("0 blobs, 0 bytes downloaded"), "\(again.stderr)")

        // app:2 shares base:1's layer: only its own layer and config go up.
        let second = try RegistryCLI.baton(["artifact", "push", "app:2", "\(registry.host)/team/app:2", "--insecure"], root: root)
        #expect(second.status == 0, "\(second.stderr)")
        let figures = try #require(Self.pushFigures(second.stderr), "\(second.stderr)")
        let blobs2 = try Self.blobs(of: RegistryCLI.lastLine(second), root: root)
        #expect(figures.sent == 2 && figures.present == 1, "\(second.stderr)")
        #expect(figures.bytes == blobs2[0].size + blobs2[2].size, "only the config and the new layer: \(second.stderr)")

        // Another repository on the same registry: every blob is mounted, none sent.
        let mounted = try RegistryCLI.baton(["artifact", "push", "app:1", "\(registry.host)/mirror/app", "--insecure"], root: root)
        #expect(mounted.status == 0, "\(mounted.stderr)")
        let mountFigures = try #require(Self.pushFigures(mounted.stderr), "\(mounted.stderr)")
        #expect(mountFigures.sent == 0 && mountFigures.mounted == 3 && mountFigures.bytes == 0, "\(mounted.stderr)")
        #expect(registry.log.contains("mount=") || registry.log.contains("mount"), "the registry saw mount requests")
        // Pushed without a tag: reachable by digest.
        let byDigest = try RegistryCLI.baton(
            ["artifact", "pull", "\(registry.host)/mirror/app@\(digest)", "--insecure", "--as", "mirrored:1"], root: other)
        #expect(byDigest.status == 0 && RegistryCLI.lastLine(byDigest) == digest, "\(byDigest.stderr)")
    }

    @Test(.enabled(if: ready, "requires root, docker-registry and skopeo"))
    func imagesSkopeoPushesWithGzipZstdAndDockerManifestsPullAndRun() throws {
        let registry = try RegistryServer()
        defer { registry.stop() }
        let root = try Self.rootWithApps([1])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let other = root + "-pulled"
        defer { try? FileManager.default.removeItem(atPath: other) }
        let skopeo = RegistryCLI.skopeo!
        let source = "oci:\(root)/store:app:1"
        // Each variant on a registry of its own: skopeo remembers the compressed blobs it made
        // and would otherwise reuse one variant's layers for the other.
        let zstdRegistry = try RegistryServer()
        defer { zstdRegistry.stop() }
        let variants: [(tag: String, flags: [String])] = [
            ("zstd-oci", ["--dest-compress", "--dest-compress-format", "zstd", "--format", "oci"]),
            ("gzip-docker", ["--dest-compress", "--dest-compress-format", "gzip", "--format", "v2s2"]),
        ]
        for variant in variants {
            let registry = variant.tag.hasPrefix("zstd") ? zstdRegistry : registry
            let pushed = try RegistryCLI.program(skopeo, ["copy", "--dest-tls-verify=false"] + variant.flags
                + [source, "docker://\(registry.host)/lib/app:\(variant.tag)"])
            #expect(pushed.status == 0, "\(pushed.stderr)")
            let pulled = try RegistryCLI.baton(["artifact", "pull", "\(registry.host)/lib/app:\(variant.tag)", "--insecure"], root: other)
            #expect(pulled.status == 0, "\(variant.tag): \(pulled.stderr)")
            let digest = RegistryCLI.lastLine(pulled)
            let manifest = try Self.manifest(digest, root: other)
            let layerTypes = (manifest["layers"] as? [[String: Any]] ?? []).compactMap { $0["mediaType"] as? String }
            #expect(!layerTypes.isEmpty && layerTypes.allSatisfy { $0.contains(variant.tag.hasPrefix("gzip") ? "gzip" : "zstd") }, "\(variant.tag): \(layerTypes)")
            let ran = try RegistryCLI.baton(["run", "--rm", "lib/app:\(variant.tag)"], root: other)
            #expect(ran.status == 0 && ran.stdout == "message 1\n", "\(variant.tag): \(ran.stderr)")
        }

        // An image index (put by hand, as a multi-platform build would): linux/amd64 is
        // chosen by default, another platform with --platform.
        #expect(try RegistryCLI.baton(["artifact", "push", "app:1", "\(registry.host)/lib/app:baton", "--insecure"], root: root).status == 0)
        let amd64 = try Self.remoteManifest(registry, "lib/app:baton")
        let arm64 = try Self.remoteManifest(registry, "lib/app:gzip-docker")
        let index = """
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[\
            {"mediaType":"\(arm64.type)","digest":"\(arm64.digest)","size":\(arm64.size),"platform":{"os":"linux","architecture":"arm64"}},\
            {"mediaType":"\(amd64.type)","digest":"\(amd64.digest)","size":\(amd64.size),"platform":{"os":"linux","architecture":"amd64"}}]}
            """
        let put = try RegistryCLI.program("/usr/bin/curl", [
            "-sf", "-X", "PUT", "-H", "Content-Type: application/vnd.oci.image.index.v1+json", "--data-binary", index,
            "http://\(registry.host)/v2/lib/app/manifests/multi",
        ])
        #expect(put.status == 0, "\(put.stderr)")
        let picked = try RegistryCLI.baton(["artifact", "pull", "\(registry.host)/lib/app:multi", "--insecure", "--as", "multi:amd64"], root: other)
        #expect(picked.status == 0 && RegistryCLI.lastLine(picked) == amd64.digest, "\(picked.stderr)")
        let arm = try RegistryCLI.baton(
            ["artifact", "pull", "\(registry.host)/lib/app:multi", "--insecure", "--as", "multi:arm64", "--platform", "linux/arm64"], root: other)
        #expect(arm.status == 0 && RegistryCLI.lastLine(arm) == arm64.digest, "\(arm.stderr)")
        let none = try RegistryCLI.baton(
            ["artifact", "pull", "\(registry.host)/lib/app:multi", "--insecure", "--as", "multi:s390x", "--platform", "linux/s390x"], root: other)
        #expect(none.status != 0 && none.stderr.contains("no image for linux/s390x"), "\(none.stderr)")
    }

    /// A manifest's digest, size and media type as the registry serves it.
    static func remoteManifest(_ registry: RegistryServer, _ image: String) throws -> (digest: String, size: Int, type: String) {
        let parts = image.split(separator: ":")
        let fetched = try RegistryCLI.program("/usr/bin/curl", [
            "-sfi", "-H", "Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
            "http://\(registry.host)/v2/\(parts[0])/manifests/\(parts[1])",
        ])
        let head = fetched.stdout.components(separatedBy: "\r\n\r\n").first ?? ""
        func header(_ name: String) -> String {
            head.split(separator: "\r\n").first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
                .map { String($0.split(separator: ":", maxSplits: 1)[1]).trimmingCharacters(in: .whitespaces) } ?? ""
        }
        return (header("Docker-Content-Digest"), Int(header("Content-Length")) ?? -1, header("Content-Type"))
    }

    @Test(.enabled(if: ready, "requires root, docker-registry and skopeo"))
    func chunkedUploadResumesAfterALostChunkOrALostReply() throws {
        let registry = try RegistryServer()
        defer { registry.stop() }
        let root = try Self.rootWithApps([])
        defer { try? FileManager.default.removeItem(atPath: root) }
        // 40 KiB of varied bytes: ten 4 KiB chunks per layer.
        let source = root + "/src/big"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try Data((0..<40_960).map { UInt8(truncatingIfNeeded: $0 &* 7919 >> 3) }).write(to: URL(fileURLWithPath: source + "/data"))
        #expect(try RegistryCLI.baton(["artifact", "publish", "big:1", source, "--base", "base:1"], root: root).status == 0)
        for (fault, repository) in [("registry-chunk-not-sent", "lost-chunk"), ("registry-chunk-reply-lost", "lost-reply")] {
            let pushed = try RegistryCLI.registry(
                ["push", "big:1", "\(registry.host)/\(repository)/big:1", "--insecure", "--chunk-size", "4096"], root: root,
                environment: ["BATON_TEST_FAULT": fault])
            #expect(pushed.status == 0, "\(fault): \(pushed.stderr)")
            let digest = RegistryCLI.lastLine(pushed)
            // skopeo reads it back and verifies every blob against its digest.
            let copy = root + "/copy-\(repository)"
            let copied = try RegistryCLI.program(RegistryCLI.skopeo!, [
                "copy", "--src-tls-verify=false", "--preserve-digests", "--dest-oci-accept-uncompressed-layers",
                "docker://\(registry.host)/\(repository)/big:1", "oci:\(copy):big",
            ])
            #expect(copied.status == 0, "\(fault): \(copied.stderr)")
            let index = try String(contentsOfFile: copy + "/index.json", encoding: .utf8)
            #expect(index.contains(digest))
        }
        // The registry saw chunks (PATCH) and, after each fault, a status request (GET on the upload).
        let patches = registry.log.components(separatedBy: "http.request.method=PATCH").count - 1
        #expect(patches >= 20, "several PATCH requests per upload, saw \(patches)")
    }
}
