import AsyncHTTPClient
import BatonOS
import Foundation
import Glibc
import NIOCore
import NIOHTTP1
import NIOSSL

/// Sizes Baton accepts from a registry before it refuses: manifests and configs are small JSON.
public enum RegistryLimits {
    public static let manifestBytes = 4 << 20
    public static let configBytes = 4 << 20
    static let errorBodyBytes = 64 << 10
    static let tokenBytes = 256 << 10
    static let redirects = 5
}

/// One registry host: its HTTP client, and the authorization its challenges asked for
/// (`Basic` for every request once challenged, a bearer token per scope). Nothing is sent to
/// any other host with credentials; redirects are followed by hand, only to http(s).
actor RegistrySession {
    let host: String
    let base: String
    let insecure: Bool
    private let client: HTTPClient
    private let credential: RegistryCredential?
    private var basic: String?
    private var tokens: [String: String] = [:]

    /// - Parameters:
    ///   - insecure: plain HTTP (`--insecure`); otherwise HTTPS with the system's roots,
    ///   - authority: and this PEM file's certificates too (RegistryTrust).
    init(host: String, insecure: Bool, credential: RegistryCredential?, authority: String? = nil) {
        self.host = host
        self.insecure = insecure
        self.credential = credential
        base = (insecure ? "http://" : "https://") + host
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10), read: .seconds(120)))
        configuration.httpVersion = .http1Only
        if let authority {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.additionalTrustRoots = [.file(authority)]
            configuration.tlsConfiguration = tls
        }
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func shutdown() async {
        try? await client.shutdown()
    }

    /// `/v2/<repository>/<rest>` on this registry.
    func url(_ repository: String, _ rest: String) -> String {
        "\(base)/v2/\(repository)/\(rest)"
    }

    enum Body: Sendable {
        case none
        case bytes(ByteBuffer)
    }

    /// Sends a request with the authorization for `scope`; a 401 is answered once (Basic or a
    /// bearer token from the challenge's realm) and the request sent again.
    func send(
        _ method: HTTPMethod, _ url: String, headers: HTTPHeaders = [:], body: Body = .none,
        scope: [String], seconds: Int64 = 300
    ) async throws -> HTTPClientResponse {
        // An upload Location or a redirect may name another host: it gets no credentials.
        guard url.hasPrefix(base + "/") else {
            return try await execute(method, url, headers, body, authorization: nil, seconds: seconds)
        }
        let key = scope.joined(separator: " ")
        let response = try await execute(method, url, headers, body, authorization: tokens[key] ?? basic, seconds: seconds)
        guard response.status == .unauthorized else { return response }
        let header = response.headers.first(name: "WWW-Authenticate")
        await Self.drain(response)
        guard let header, let challenge = AuthChallenge(header: header) else {
            throw BatonError(.invalidArgument, "registry \(host) answered 401 Unauthorized without a Basic or Bearer challenge")
        }
        let authorization = try await answer(challenge, scope: scope)
        if challenge.scheme == .basic { basic = authorization } else { tokens[key] = authorization }
        let retried = try await execute(method, url, headers, body, authorization: authorization, seconds: seconds)
        if retried.status == .unauthorized || retried.status == .forbidden {
            await Self.drain(retried)
            throw refused(scope)
        }
        return retried
    }

    /// A GET that follows up to five redirects (to http or https only; credentials go to this
    /// registry alone). Whatever comes back is verified by its digest by the caller.
    func get(_ url: String, headers: HTTPHeaders = [:], scope: [String], seconds: Int64 = 300) async throws -> HTTPClientResponse {
        var response = try await send(.GET, url, headers: headers, scope: scope, seconds: seconds)
        var current = url
        var hops = 0
        while [301, 302, 303, 307, 308].contains(response.status.code) {
            hops += 1
            let location = response.headers.first(name: "Location")
            await Self.drain(response)
            guard hops <= RegistryLimits.redirects, let location else {
                throw BatonError(.corrupt, "registry \(host): too many redirects, or a redirect without Location, for \(current)")
            }
            let next = try resolve(location, against: current)
            current = next
            response = try await send(.GET, next, headers: headers, scope: scope, seconds: seconds)
        }
        return response
    }

    /// `location` made absolute; only http(s), and plain http only with --insecure.
    func resolve(_ location: String, against current: String) throws -> String {
        guard let url = URL(string: location, relativeTo: URL(string: current)), let scheme = url.scheme?.lowercased() else {
            throw BatonError(.corrupt, "registry \(host) sent an invalid Location '\(Untrusted.text(location))'")
        }
        guard scheme == "https" || (scheme == "http" && insecure) else {
            throw BatonError(.corrupt,
                "registry \(host) redirected to '\(Untrusted.text(url.absoluteString))': only https (http with --insecure) is followed")
        }
        return url.absoluteString
    }

    private func execute(
        _ method: HTTPMethod, _ url: String, _ headers: HTTPHeaders, _ body: Body, authorization: String?, seconds: Int64
    ) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers = headers
        request.headers.replaceOrAdd(name: "User-Agent", value: "baton/0.1")
        if let authorization { request.headers.replaceOrAdd(name: "Authorization", value: authorization) }
        switch body {
        case .none:
            if method == .PUT || method == .POST || method == .PATCH { request.headers.replaceOrAdd(name: "Content-Length", value: "0") }
        case .bytes(let buffer):
            request.body = .bytes(buffer)
        }
        do {
            return try await client.execute(request, deadline: .now() + .seconds(seconds))
        } catch {
            // Without --insecure Baton speaks only HTTPS: a plain-HTTP registry fails here.
            let hint = insecure ? "" : "; if \(host) serves plain HTTP, pass --insecure"
            throw BatonError(.unavailable, "cannot reach registry \(host) (\(method) \(Self.path(of: url))): \(Untrusted.describe(error))\(hint)")
        }
    }

    /// Answers a challenge: Basic with the stored credential, or a bearer token fetched from
    /// the challenge's realm (with the credential, when there is one).
    private func answer(_ challenge: AuthChallenge, scope: [String]) async throws -> String {
        switch challenge.scheme {
        case .basic:
            guard let credential else { throw needsLogin() }
            return "Basic " + Data("\(credential.username):\(credential.password)".utf8).base64EncodedString()
        case .bearer:
            guard let realm = challenge.realm, var components = URLComponents(string: realm),
                let scheme = components.scheme?.lowercased(), scheme == "https" || (scheme == "http" && insecure)
            else {
                throw BatonError(.corrupt,
                    "registry \(host) names token realm '\(Untrusted.text(challenge.realm ?? ""))': only https (http with --insecure) is used")
            }
            var items = components.queryItems ?? []
            if let service = challenge.parameters["service"] { items.append(URLQueryItem(name: "service", value: service)) }
            for item in scope { items.append(URLQueryItem(name: "scope", value: item)) }
            components.queryItems = items
            guard let tokenURL = components.url?.absoluteString else {
                throw BatonError(.corrupt, "registry \(host) names an invalid token realm")
            }
            let authorization = credential.map {
                "Basic " + Data("\($0.username):\($0.password)".utf8).base64EncodedString()
            }
            let response = try await execute(.GET, tokenURL, [:], .none, authorization: authorization, seconds: 60)
            guard response.status == .ok else {
                await Self.drain(response)
                if response.status == .unauthorized || response.status == .forbidden { throw refused(scope) }
                throw BatonError(.unavailable, "token server of registry \(host) answered \(response.status.code)")
            }
            let bytes = try await Self.collect(response, limit: RegistryLimits.tokenBytes, what: "token reply of \(host)")
            struct TokenReply: Decodable {
                var token: String?
                var access_token: String?
            }
            guard let reply = try? JSONDecoder().decode(TokenReply.self, from: Data(bytes)),
                let token = reply.token ?? reply.access_token, !token.isEmpty,
                token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f })
            else {
                throw BatonError(.corrupt, "token server of registry \(host) sent no usable token")
            }
            return "Bearer " + token
        }
    }

    private func needsLogin() -> BatonError {
        BatonError(.invalidArgument, "registry \(host) requires credentials: run 'baton login \(host) --username USER --password-stdin'")
    }

    private func refused(_ scope: [String]) -> BatonError {
        credential == nil
            ? needsLogin()
            : BatonError(.invalidArgument,
                "registry \(host) refused the credentials for \(scope.joined(separator: " ")): wrong user name or password, or no access ('baton login \(host)' to change them)")
    }

    /// Reads a whole (small) body, refusing more than `limit` bytes.
    static func collect(_ response: HTTPClientResponse, limit: Int, what: String) async throws -> [UInt8] {
        if let length = response.headers.first(name: "Content-Length").flatMap(Int.init), length > limit {
            throw BatonError(.corrupt, "\(what) is \(length) bytes, more than the \(limit) allowed")
        }
        var bytes: [UInt8] = []
        do {
            for try await buffer in response.body {
                guard bytes.count + buffer.readableBytes <= limit else {
                    throw BatonError(.corrupt, "\(what) is more than the \(limit) bytes allowed")
                }
                bytes.append(contentsOf: buffer.readableBytesView)
            }
        } catch let error as BatonError {
            throw error
        } catch {
            throw BatonError(.unavailable, "\(what) was cut off: \(Untrusted.describe(error))")
        }
        return bytes
    }

    /// Reads and drops a body (an error reply, a redirect), so the connection can be reused.
    static func drain(_ response: HTTPClientResponse) async {
        _ = try? await response.body.collect(upTo: RegistryLimits.errorBodyBytes)
    }

    /// The registry's own words for a failed request: `{"errors":[{"code","message"}]}`.
    static func failure(_ response: HTTPClientResponse, _ what: String) async -> BatonError {
        let bytes = (try? await collect(response, limit: RegistryLimits.errorBodyBytes, what: what)) ?? []
        struct Errors: Decodable {
            struct Item: Decodable {
                var code: String?
                var message: String?
            }
            var errors: [Item]?
        }
        let detail = (try? JSONDecoder().decode(Errors.self, from: Data(bytes)))?.errors?.first.map {
            [$0.code, $0.message].compactMap { $0 }.joined(separator: ": ")
        }
        let code: BatonError.Code = response.status == .notFound ? .notFound : .unavailable
        return BatonError(code, "\(what): registry answered \(response.status.code)" + (detail.map { " (\(Untrusted.text($0)))" } ?? ""))
    }

    static func path(of url: String) -> String {
        URL(string: url)?.path ?? url
    }
}

/// Text from a registry (error messages, locations) made safe for one terminal line.
enum Untrusted {
    static func text(_ value: String, limit: Int = 200) -> String {
        let cleaned = String(value.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? "?" : Character($0) })
        return cleaned.count > limit ? String(cleaned.prefix(limit)) + "…" : cleaned
    }

    /// A transport failure in a few words: errno for socket errors, "TLS handshake failed"
    /// rather than BoringSSL's stack.
    static func describe(_ error: any Error) -> String {
        if let error = error as? BatonError { return error.message }
        if let error = error as? IOError {
            return "\(String(cString: strerror(error.errnoCode))) (errno \(error.errnoCode))"
        }
        let description = String(describing: error)
        if description.contains("handshakeFailed") || description.contains("NIOSSL") {
            return "TLS handshake failed"
        }
        // NIO's connection error lists each address it tried with the socket error's errno:
        // the first one says it (connection refused, no route to host…).
        if let match = description.firstMatch(of: #/errno: (\d+)\)/#), let code = Int32(match.1) {
            return "\(String(cString: strerror(code))) (errno \(code))"
        }
        return text(description)
    }
}
