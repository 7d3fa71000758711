import BatonControl
import BatonOS

/// The daemon operations `apply` uses; `ControlClient` is the real one.
public protocol AppControl: Sendable {
    func createApp(_ spec: AppSpec) throws -> AppInfo
    func updateApp(_ spec: AppSpec) throws -> AppInfo
    func removeApp(named name: String) throws
    func deploy(app: String, ref: String) throws -> DeploymentInfo
    func configure(app: String, _ request: AppConfigRequest) throws -> AppConfigResult
}

extension ControlClient: AppControl {}

/// Carries out a plan step by step. A failed step does not stop the others; an app whose
/// update or creation failed is not swapped (it would run with settings the file did not ask for).
public struct ApplyExecutor: Sendable {
    let control: any AppControl

    public init(control: any AppControl) {
        self.control = control
    }

    /// Every step of the plan with its outcome; `starting` is told before each change.
    public func run(_ plan: ApplyPlan, starting: (ApplyStep) -> Void = { _ in }) -> [ApplyStep] {
        var failedApps = Set<String>()
        return plan.steps.map { step in
            var step = step
            guard step.action != .unchanged else { return step }
            if failedApps.contains(step.app) {
                step.outcome = "skipped"
                step.reason = "an earlier step of this app failed"
                return step
            }
            starting(step)
            do {
                try perform(step)
                step.outcome = "succeeded"
            } catch {
                step.outcome = "failed"
                step.reason = (error as? StepFailure)?.message ?? "\(error)"
                failedApps.insert(step.app)
            }
            return step
        }
    }

    private func perform(_ step: ApplyStep) throws(StepFailure) {
        do {
            switch step.action {
            case .create:
                _ = try control.createApp(step.spec!)
                if let ref = step.artifact { try swap(step.app, to: ref) }
            case .update:
                if step.changes.contains(where: SettingsDiff.appSettings.contains) { _ = try control.updateApp(step.spec!) }
                if step.changes.contains(where: { !SettingsDiff.appSettings.contains($0) }) {
                    _ = try control.configure(app: step.app, AppConfigRequest(replacement: AppConfig(step.spec!)))
                }
            case .swap:
                guard let spec = step.spec else { return try swap(step.app, to: step.artifact!) }
                // The file's configuration and artifact in one swap; the daemon keeps a new version.
                let result = try control.configure(app: step.app, AppConfigRequest(replacement: AppConfig(spec), ref: step.artifact))
                if let record = result.deployment {
                    try check(record)
                } else if step.changes.contains("volumes") || step.changes.contains("replicas"), let ref = step.artifact {
                    // Same bytes and configuration: only new sandboxes mount the new volumes
                    // (or come in the new number).
                    try swap(step.app, to: ref)
                }
            case .remove:
                try control.removeApp(named: step.app)
            case .unchanged:
                break
            }
        } catch let failure as StepFailure {
            throw failure
        } catch {
            throw StepFailure(message: (error as? BatonError)?.message ?? "\(error)")
        }
    }

    /// The health-gated deploy; a failed health check is a deployment record, not an error.
    private func swap(_ app: String, to ref: String) throws {
        try check(try control.deploy(app: app, ref: ref))
    }

    private func check(_ record: DeploymentInfo) throws(StepFailure) {
        guard record.outcome == "succeeded" else {
            throw StepFailure(message: "deploy \(record.outcome): \(record.reason ?? "no reason recorded")")
        }
    }
}

struct StepFailure: Error {
    let message: String
}
