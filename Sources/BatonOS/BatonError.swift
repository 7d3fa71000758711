/// The one error type a module hands to its caller: a code to branch on, a message a user
/// can act on, and the lower-level cause. The CLI prints `error: <message>` and exits with
/// `code.exitStatus`.
public struct BatonError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        /// The user asked for something malformed (a flag, a reference, a file).
        case invalidArgument
        /// The thing named does not exist.
        case notFound
        /// It exists already, or conflicts with what exists.
        case conflict
        /// The data read (an archive, a manifest, a state file) is corrupt or hostile.
        case corrupt
        /// Sandbox setup failed in the kernel.
        case setupFailed
        /// Another component (the daemon) is not there.
        case unavailable
        /// A deadline passed.
        case timeout
        /// Anything else: a bug or an environment problem.
        case `internal`
    }

    public let code: Code
    public let message: String
    public let cause: (any Error & Sendable)?
    /// The exit status a command should end with, where convention fixes one
    /// (127: program not found, 126: not executable); nil lets the CLI choose.
    public var exitStatus: Int32?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil, exitStatus: Int32? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
        self.exitStatus = exitStatus
    }

    public var description: String { message }
}
