import BatonOS
import BatonControl

/// One change `apply` makes (or, for `unchanged`, does not make) to one app.
public struct ApplyStep: Sendable, Equatable, Encodable {
    public enum Action: String, Sendable, Encodable {
        /// Create the app and, for a sandbox app, deploy its artifact.
        case create
        /// Blue-green swap to another digest.
        case swap
        /// Replace the app's settings.
        case update
        /// Remove the app (only with --prune).
        case remove
        case unchanged
    }

    public var action: Action
    public var app: String
    /// The REF the file names, for create and swap of sandbox apps.
    public var artifact: String?
    public var fromDigest: String?
    public var toDigest: String?
    /// The settings an update changes, by their key in the file; for a swap to the same
    /// digest, the sandbox settings it restarts the app to apply.
    public var changes: [String]
    /// "succeeded", "failed" or "skipped" once applied; nil in a plan.
    public var outcome: String?
    public var reason: String?
    /// What create and update send to the daemon.
    public var spec: AppSpec?

    public init(_ action: Action, app: String, artifact: String? = nil, fromDigest: String? = nil, toDigest: String? = nil,
                changes: [String] = [], spec: AppSpec? = nil) {
        self.action = action
        self.app = app
        self.artifact = artifact
        self.fromDigest = fromDigest
        self.toDigest = toDigest
        self.changes = changes
        self.spec = spec
    }

    private enum CodingKeys: String, CodingKey {
        case action, app, artifact, fromDigest, toDigest, changes, outcome, reason
    }

    public func encode(to encoder: any Encoder) throws {
        // Absent values are written as null so every key is always there.
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(action, forKey: .action)
        try container.encode(app, forKey: .app)
        try container.encode(artifact, forKey: .artifact)
        try container.encode(fromDigest, forKey: .fromDigest)
        try container.encode(toDigest, forKey: .toDigest)
        try container.encode(changes, forKey: .changes)
        try container.encode(outcome, forKey: .outcome)
        try container.encode(reason, forKey: .reason)
    }

    /// A line for people: what changes, from what to what.
    public var detail: String {
        switch action {
        case .create, .swap:
            let target = [toDigest.map(shortDigest), artifact.map { "(\($0))" }].compactMap { $0 }.joined(separator: " ")
            if action == .create { return target }
            let restart = changes.isEmpty ? "" : " to apply \(changes.joined(separator: ", "))"
            return "\(fromDigest.map(shortDigest) ?? "nothing") -> \(target)\(restart)"
        case .update:
            return changes.joined(separator: ", ")
        case .remove, .unchanged:
            return ""
        }
    }
}
