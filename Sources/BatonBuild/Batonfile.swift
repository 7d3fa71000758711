import BatonOS

/// A parsed Batonfile: a documented subset of the Dockerfile syntax (docs/build.md). Parsing
/// checks the structure (known instructions, flags, quotes, JSON forms); values that depend on
/// the environment (`$NAME`) are checked when the build resolves its steps (`BuildPlan`).
public struct Batonfile: Sendable {
    /// How an instruction's arguments were written.
    public enum Arguments: Sendable, Equatable {
        /// Plain text after the keyword (and its flags), continuations joined.
        case shell(String)
        /// A JSON array of strings: `["prog", "arg"]`.
        case json([String])
    }

    public struct Instruction: Sendable {
        /// The line the instruction starts on, from 1.
        public let line: Int
        /// Upper case: `COPY`, `RUN`, …
        public let keyword: String
        /// `--name=value` flags before the arguments.
        public let flags: [String: String]
        public let arguments: Arguments
    }

    /// Where the file came from, as the user named it: the prefix of every error.
    public let fileName: String
    /// `FROM`'s reference.
    public let from: String
    /// The line FROM is on.
    public let fromLine: Int
    /// Every instruction after FROM, in order.
    public let instructions: [Instruction]

    /// The error for a problem on `line`: `FILE:LINE: message`.
    func error(_ line: Int, _ message: String) -> BatonError {
        BatonError(.invalidArgument, PrintableText.of("\(fileName):\(line): \(message)"))
    }

    /// Instructions Baton builds, and the flags each accepts.
    static let supported: [String: Set<String>] = [
        "FROM": [], "COPY": ["chmod"], "RUN": [], "ENV": [], "WORKDIR": [], "CMD": [], "ENTRYPOINT": [],
        "EXPOSE": [], "LABEL": [], "USER": [],
    ]

    /// Dockerfile instructions left out on purpose, and why (in the error a user sees).
    static let refused: [String: String] = [
        "ADD": "ADD is not supported: use COPY (a build fetches no URLs and unpacks no archives)",
        "ARG": "ARG is not supported: build arguments would let one Batonfile build different artifacts; use ENV",
        "ONBUILD": "ONBUILD is not supported: a base artifact's build runs nothing in yours",
        "HEALTHCHECK": "HEALTHCHECK is not supported: give the path Baton's health check GETs with LABEL org.baton.health-path=/path",
        "VOLUME": "VOLUME is not supported: volumes belong to an app (baton app create --volume NAME:/path)",
        "SHELL": "SHELL is not supported: RUN's shell form is always /bin/sh -c; write [\"program\", \"arg\"] for another",
        "STOPSIGNAL": "STOPSIGNAL is not supported: Baton stops apps with SIGTERM",
        "MAINTAINER": "MAINTAINER is not supported: use LABEL",
    ]
}
