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
