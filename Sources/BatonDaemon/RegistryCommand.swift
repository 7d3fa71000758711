import ArgumentParser
import BatonCommandLine
import BatonOS
import BatonRegistry
import BatonStore
import Foundation
import Glibc

/// `baton-daemon registry …`: the registry client, run in this executable because it links
/// AsyncHTTPClient, which `baton` must not. `baton artifact push/pull`, `baton login` and
/// `baton logout` parse their arguments, then exec this with the same words.
public struct RegistryCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "baton-daemon registry",
        abstract: "Push, pull, log in to and log out of OCI registries (run by 'baton artifact push/pull', 'baton login/logout').",
        subcommands: [RegistryPullCommand.self, RegistryPushCommand.self, RegistryLoginCommand.self, RegistryLogoutCommand.self])

    public init() {}

    public static func runMain(_ arguments: [String]) -> Never {
        // Blobs, auth.json and the blob-sources file are private to root (DESIGN.md invariant 6).
        umask(0o077)
        return CommandMain.run(RegistryCommand.self, arguments, hint: "baton artifact --help")
    }

    /// Runs async registry work from a synchronous command, on the global executor.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let outcome = Outcome<T>()
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                outcome.set(.success(try await body()))
            } catch {
                outcome.set(.failure(error))
            }
            done.signal()
        }
        done.wait()
        return try outcome.get()
    }

    /// stderr lines for progress.
    static let progress: ProgressSink = { StandardStream.line($0, to: STDERR_FILENO) }
}

/// The result of a task handed back to the waiting thread (written once, read after the semaphore).
private final class Outcome<T: Sendable>: @unchecked Sendable {
    // @unchecked: set once by the task before it signals, read only after the wait returns.
    private var result: Result<T, any Error>?
    func set(_ value: Result<T, any Error>) { result = value }
    func get() throws -> T {
        guard let result else { throw BatonError(.internal, "registry task ended without a result") }
        return try result.get()
    }
}

struct RegistryRootOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Baton's state directory.", valueName: "dir"))
    var root: String?

    var path: String { StateRoot.resolve(root) }
}

struct RegistryPullCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pull")
    @OptionGroup var root: RegistryRootOption
    @Argument var reference: String
    @Option(name: .customLong("as")) var localName: String?
    @Option var platform: String?
    @Flag var insecure = false
    /// `baton build`'s FROM: bind `REPO:sha256-<12 hex>`, as a deploy's pull does, so a moved
    /// tag never makes a later build fail.
    @Flag(name: .customLong("name-by-digest")) var nameByDigest = false

    func run() throws {
        var pull = RegistryPull(root: root.path, reference: try RegistryReference(parsing: reference))
        pull.localName = localName
        pull.insecure = insecure
        pull.nameByDigest = nameByDigest
        pull.progress = RegistryCommand.progress
        if let platform { pull.platform = try RegistryPull.platform(parsing: platform) }
        let request = pull
        let result = try RegistryCommand.blocking { try await request.run() }
        StandardStream.line(
            "pulled \(result.source) as \(result.name) (\(result.blobsDownloaded) blobs, \(result.bytesDownloaded) bytes downloaded; \(result.blobsPresent) already in the store)",
            to: STDERR_FILENO)
        StandardStream.line(result.digest, to: STDOUT_FILENO)
    }
}

struct RegistryPushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "push")
    @OptionGroup var root: RegistryRootOption
    @Argument var artifact: String
    @Argument var destination: String
    @Flag var insecure = false
    /// Bytes per PATCH of a chunked upload; small values let tests see several chunks.
    @Option var chunkSize: Int = 16 << 20

    func run() throws {
        var push = RegistryPush(root: root.path, artifact: artifact, destination: try RegistryReference(parsing: destination))
        push.insecure = insecure
        push.chunkSize = chunkSize
        push.progress = RegistryCommand.progress
        let request = push
        let result = try RegistryCommand.blocking { try await request.run() }
        StandardStream.line(
            "pushed \(artifact) to \(result.destination): \(result.blobsSent) blobs sent (\(result.bytesSent) bytes), \(result.blobsPresent) already there, \(result.blobsMounted) mounted",
            to: STDERR_FILENO)
        StandardStream.line(result.digest, to: STDOUT_FILENO)
    }
}

struct RegistryLoginCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "login")
    @OptionGroup var root: RegistryRootOption
    @Argument var registry: String
    @Option var username: String?
    @Flag var passwordStdin = false
    @Flag var insecure = false

    func run() throws {
        guard let username, passwordStdin else {
            throw BatonError(.invalidArgument, "give --username USER and --password-stdin (the password is read from stdin, never from an argument)")
        }
        let password = try Self.readPassword()
        var login = RegistryLogin(root: root.path, host: try RegistryLogin.host(of: registry))
        login.insecure = insecure
        let request = login
        try RegistryCommand.blocking { try await request.login(RegistryCredential(username: username, password: password)) }
        StandardStream.line("logged in to \(login.host) (credentials in \(root.path)/auth.json)", to: STDERR_FILENO)
    }

    /// stdin up to EOF, without one trailing newline; at most 64 KiB.
    static func readPassword() throws -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 { throw OSError("read stdin", errno: errno) }
            if count == 0 { break }
            bytes += chunk[0..<count]
            if bytes.count > 65536 { throw BatonError(.invalidArgument, "the password on stdin is longer than 64 KiB") }
        }
        if bytes.last == 0x0a { bytes.removeLast() }
        if bytes.last == 0x0d { bytes.removeLast() }
        guard !bytes.isEmpty, let text = String(validating: bytes, as: UTF8.self) else {
            throw BatonError(.invalidArgument, "no password on stdin (pipe it: echo \"$PASSWORD\" | baton login …)")
        }
        return text
    }
}

struct RegistryLogoutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logout")
    @OptionGroup var root: RegistryRootOption
    @Argument var registry: String

    func run() throws {
        let logout = RegistryLogin(root: root.path, host: try RegistryLogin.host(of: registry))
        try logout.logout()
        StandardStream.line("logged out of \(logout.host)", to: STDERR_FILENO)
    }
}
