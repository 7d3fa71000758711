import Foundation

/// Persists deployments as they happen. The daemon implements it over the state database, one
/// transaction per call, so a crash leaves every completed phase on record.
public protocol DeploymentRecorder: Sendable {
    /// Records a deployment that has begun (outcome `running`) and returns its id: from which
    /// digest and configuration version to which.
    func begin(app: String, from: String?, to: String, fromConfig: Int64?, toConfig: Int64?, at: Date) async throws -> Int64

    /// Appends one completed phase to deployment `id`.
    func record(_ phase: PhaseRecord, deployment id: Int64) async throws

    /// Sets the final outcome of deployment `id`.
    func finish(deployment id: Int64, outcome: DeploymentOutcome, reason: String?, at: Date) async throws

    /// The deployments of `app`, newest first.
    func history(app: String) async throws -> [DeploymentRecord]

    /// Bake (part 3): stores how deployment `id`'s bake window went.
    func recordBake(_ report: BakeReport, deployment id: Int64) async throws
}

extension DeploymentRecorder {
    /// Recorders that keep no bake reports.
    public func recordBake(_ report: BakeReport, deployment id: Int64) async throws {}
}

extension DeploymentRecorder {
    /// longlived: records blue's long-lived connections with deployment `id`. Recorders that
    /// keep no such figures ignore them.
    public func recordLongLived(_ counts: LongLivedCounts, deployment id: Int64) async throws {
        if let recorder = self as? any LongLivedRecorder { try await recorder.storeLongLived(counts, deployment: id) }
    }
}

/// A recorder that keeps the long-lived connection counts of a deployment.
public protocol LongLivedRecorder: DeploymentRecorder {
    func storeLongLived(_ counts: LongLivedCounts, deployment id: Int64) async throws
}
