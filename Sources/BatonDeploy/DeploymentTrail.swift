import Logging

/// The record of one deployment being written as it happens: each completed phase goes to the
/// recorder and the progress callback at once. A recorder failure after the deploy began is
/// logged, not thrown: failing a swap that already moved traffic would be worse.
struct DeploymentTrail {
    private(set) var record: DeploymentRecord
    private var mark: Duration
    private let recorder: any DeploymentRecorder
    private let clock: any DeployClock
    private let progress: DeployProgress
    private let logger: Logger

    /// Puts the deployment on record; throws if the recorder cannot, before anything starts.
    static func begin(app: String, from blue: SandboxHandle?, to: String, configVersion: Int64?, recorder: any DeploymentRecorder,
                      clock: any DeployClock, progress: @escaping DeployProgress, logger: Logger) async throws -> DeploymentTrail {
        let startedAt = clock.date()
        let from = blue?.digest
        let id = try await recorder.begin(app: app, from: from, to: to, fromConfig: blue?.configVersion, toConfig: configVersion,
                                          at: startedAt)
        let record = DeploymentRecord(id: id, app: app, fromDigest: from, toDigest: to, startedAt: startedAt,
                                      fromConfigVersion: blue?.configVersion, configVersion: configVersion)
        progress(.began(deployment: id, from: from, to: to))
        return DeploymentTrail(record: record, mark: clock.now(), recorder: recorder, clock: clock,
                               progress: progress, logger: logger)
    }

    private init(record: DeploymentRecord, mark: Duration, recorder: any DeploymentRecorder,
                 clock: any DeployClock, progress: @escaping DeployProgress, logger: Logger) {
        self.record = record
        self.mark = mark
        self.recorder = recorder
        self.clock = clock
        self.progress = progress
        self.logger = logger
    }

    /// Records `phase` as completed now, timed from the previous phase (or the start).
    mutating func complete(_ phase: DeployPhase, detail: String? = nil) async {
        let now = clock.now()
        let entry = PhaseRecord(phase: phase, completedAt: clock.date(), duration: now - mark, detail: detail)
        mark = now
        record.phases.append(entry)
        do {
            try await recorder.record(entry, deployment: record.id)
        } catch {
            logger.error("cannot record phase \(phase.rawValue) of deployment \(record.id): \(error)")
        }
        progress(.completed(entry))
    }

    /// longlived: puts blue's long-lived connection counts on record.
    mutating func recordLongLived(_ counts: LongLivedCounts) async {
        record.longLived = counts
        do {
            try await recorder.recordLongLived(counts, deployment: record.id)
        } catch {
            logger.error("cannot record the long-lived connections of deployment \(record.id): \(error)")
        }
    }

    /// Bake (part 3): how the bake window went, kept in the record.
    mutating func noteBake(_ report: BakeReport) {
        record.bake = report
    }

    mutating func finish(_ outcome: DeploymentOutcome, reason: String? = nil) async {
        let finishedAt = clock.date()
        record.outcome = outcome
        record.reason = reason
        record.finishedAt = finishedAt
        do {
            try await recorder.finish(deployment: record.id, outcome: outcome, reason: reason, at: finishedAt)
        } catch {
            logger.error("cannot record outcome \(outcome.rawValue) of deployment \(record.id): \(error)")
        }
        progress(.finished(outcome: outcome, reason: reason))
    }
}
