import AsyncHTTPClient
import BatonOS
import BatonStore
import NIOHTTP1

/// `baton login REGISTRY` and `baton logout REGISTRY`: credentials checked against the
/// registry (GET /v2/ through its challenge) before they are stored in `$BATON_ROOT/auth.json`.
public struct RegistryLogin: Sendable {
    public var root: String
    public var host: String
    public var insecure = false

    public init(root: String, host: String) {
        self.root = root
        self.host = host
    }

    /// The host part of `REGISTRY` (`host[:port]`, an `https://` prefix or a path dropped).
    public static func host(of text: String) throws -> String {
        let host = RegistryCredentials.hostOf(text)
        guard (try? RegistryReference(parsing: host + "/x")) != nil else {
            throw BatonError(.invalidArgument, "invalid registry '\(text)': use HOST[:PORT], e.g. registry.example.com or 127.0.0.1:5000")
        }
        return host
    }

    public func login(_ credential: RegistryCredential) async throws {
        guard !credential.username.isEmpty, !credential.username.contains(":") else {
            throw BatonError(.invalidArgument, "the user name must be non-empty and without ':'")
        }
        let session = RegistrySession(host: host, insecure: insecure, credential: credential,
                                      authority: RegistryTrust.authorityFile(root: root, host: host))
        do {
            let response = try await session.get(await session.base + "/v2/", scope: [], seconds: 60)
            await RegistrySession.drain(response)
            guard response.status == .ok else {
                throw BatonError(.unavailable, "registry \(host) answered \(response.status.code) to GET /v2/; is it an OCI registry?")
            }
            await session.shutdown()
        } catch {
            await session.shutdown()
            throw error
        }
        try RegistryCredentials(root: root).save(credential, for: host)
    }

    public func logout() throws {
        guard try RegistryCredentials(root: root).remove(host) else {
            throw BatonError(.notFound, "not logged in to \(host) (no entry in \(root)/auth.json)")
        }
    }
}
