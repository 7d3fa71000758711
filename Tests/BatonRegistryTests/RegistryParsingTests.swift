import BatonOS
import BatonStore
import Foundation
import Testing
@testable import BatonRegistry

/// The pure parts: references, challenges, credential files.
@Suite struct RegistryParsingTests {
    @Test func registryReferencesFollowDockersHostRule() throws {
        #expect(RegistryReference.looksLikeRegistry("registry.example.com/team/app:1"))
        #expect(RegistryReference.looksLikeRegistry("127.0.0.1:5000/app"))
        #expect(RegistryReference.looksLikeRegistry("localhost/app:1"))
        #expect(!RegistryReference.looksLikeRegistry("team/app:1"), "a local NAME:VERSION with a slash stays local")
        #expect(!RegistryReference.looksLikeRegistry("app:1"))
        #expect(!RegistryReference.looksLikeRegistry("sha256:" + String(repeating: "a", count: 64)))

        let tagged = try RegistryReference(parsing: "Registry.Example.com:5000/team/app:1.0")
        #expect(tagged.registry == "registry.example.com:5000" && tagged.repository == "team/app" && tagged.tag == "1.0")
        #expect(tagged.manifestReference == "1.0")
        let digest = "sha256:" + String(repeating: "ab", count: 32)
        let pinned = try RegistryReference(parsing: "localhost:5000/app:1@\(digest)")
        #expect(pinned.tag == "1" && pinned.digest?.description == digest && pinned.manifestReference == digest)
        #expect(try RegistryReference(parsing: "r.io/app").manifestReference == "latest")
        #expect(tagged.defaultLocalName(resolved: Digest(digest)!) == "team/app:1.0")
        #expect(try RegistryReference(parsing: "r.io/app@\(digest)").defaultLocalName(resolved: Digest(digest)!) == "app:sha256-abababababab")

        for bad in ["team/app:1", "r.io/", "r.io/Team/app", "r.io/app:-x", "r.io/app@sha256:12", "r.io/a//b", "r.io:99999/a", "r.io/app:"] {
            #expect(throws: BatonError.self, "\(bad)") { try RegistryReference(parsing: bad) }
        }
    }

    @Test func challengesParseQuotedParameters() throws {
        let bearer = try #require(AuthChallenge(header: #"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:team/app:pull,push""#))
        #expect(bearer.scheme == .bearer)
        #expect(bearer.realm == "https://auth.example.com/token")
        #expect(bearer.parameters["scope"] == "repository:team/app:pull,push", "a comma inside quotes belongs to the value")
        #expect(bearer.parameters["service"] == "registry.example.com")
        let basic = try #require(AuthChallenge(header: #"Basic realm="baton \"test\"""#))
        #expect(basic.scheme == .basic && basic.realm == #"baton "test""#)
        #expect(AuthChallenge(header: "Negotiate abc") == nil)
        #expect(AuthChallenge(header: "") == nil)
    }

    @Test func credentialsComeFromBatonsFileThenDockers() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-creds-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/docker", withIntermediateDirectories: true)
        let auth = Data("dock:er".utf8).base64EncodedString()
        try #"{"auths":{"https://r.io/v1/":{"auth":"\#(auth)"},"broken.io":{"auth":"!!"}},"credsStore":"x"}"#
            .write(toFile: directory + "/docker/config.json", atomically: true, encoding: .utf8)
        let credentials = RegistryCredentials(root: directory + "/root", environment: ["DOCKER_CONFIG": directory + "/docker", "HOME": "/nonexistent"])
        #expect(try credentials.lookup("r.io") == RegistryCredential(username: "dock", password: "er"))
        #expect(try credentials.lookup("other.io") == nil)
        #expect(throws: BatonError.self) { try credentials.lookup("broken.io") }

        try credentials.save(RegistryCredential(username: "baton", password: "p:w"), for: "r.io")
        #expect(try credentials.lookup("r.io") == RegistryCredential(username: "baton", password: "p:w"), "Baton's own file wins")
        var info = stat()
        #expect(stat(credentials.authFile, &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(try credentials.remove("r.io"))
        #expect(try !credentials.remove("r.io"))
        #expect(try credentials.lookup("r.io")?.username == "dock")
    }

    @Test func uploadRangesGiveTheBytesHeld() {
        #expect(BlobUpload.bytesHeld("0-4095") == 4096)
        #expect(BlobUpload.bytesHeld("0-0") == 0)
        #expect(BlobUpload.bytesHeld("bytes=0-99") == 100)
        #expect(BlobUpload.bytesHeld("garbage") == 0)
    }
}
