
/// A place in the apply file, printed the way compilers print one: `baton.yml:3:15`.
public struct SourceLocation: Codable, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// One app as the file declares it: the spec the daemon stores, and for a sandbox app the
/// artifact that should serve it.
public struct DeclaredApp: Codable, Sendable, Equatable {
    public var spec: AppSpec
    /// The REF of a sandbox app; nil for an upstream app.
    public var artifact: String?
    /// Where the app's name is written.
    public var location: SourceLocation
    /// Where its `artifact:` value is written.
    public var artifactLocation: SourceLocation?
    /// KEY=PATH: secrets the CLI reads from files (`{ file: PATH }`, relative to the apply file)
    /// into `spec.secrets` before anything is sent.
    public var secretFiles: [String]

    public init(spec: AppSpec, artifact: String?, location: SourceLocation, artifactLocation: SourceLocation? = nil,
                secretFiles: [String] = []) {
        self.spec = spec
        self.artifact = artifact
        self.location = location
        self.artifactLocation = artifactLocation
        self.secretFiles = secretFiles
    }

    public var name: String { spec.name }
}

/// The apps a file declares, in the order written. The daemon parses the YAML (`POST
/// /v1/apply/parse`) so the CLI need not link a YAML parser and the Foundation it brings.
public struct ApplyFile: Codable, Sendable, Equatable {
    public var path: String
    public var apps: [DeclaredApp]

    public init(path: String, apps: [DeclaredApp]) {
        self.path = path
        self.apps = apps
    }
}

/// The text of an apps file, sent to be parsed; `file` is the name its errors use.
public struct ApplyParseRequest: Codable, Sendable, Equatable {
    public var file: String
    public var text: String

    public init(file: String, text: String) {
        self.file = file
        self.text = text
    }
}

/// A declared app with the digest its artifact resolved to (nil for an upstream app).
public struct ResolvedApp: Sendable, Equatable {
    public var declared: DeclaredApp
    public var digest: String?
    /// The daemon said a declared secret's value differs from the stored one (`apply` asks it:
    /// no value ever comes back to compare).
    public var secretValuesChanged = false

    public init(declared: DeclaredApp, digest: String?) {
        self.declared = declared
        self.digest = digest
    }
}
