/// Progress of one deploy, as it happens, for the CLI to show live.
public enum DeployEvent: Sendable, Equatable {
    /// The deployment is on record and green is about to start.
    case began(deployment: Int64, from: String?, to: String)
    /// Green was health-checked (attempt numbers start at 1); the CLI can show why it waits.
    case healthChecked(attempt: Int, result: HealthResult)
    /// A phase completed, with its duration.
    case completed(PhaseRecord)
    /// The deployment ended.
    case finished(outcome: DeploymentOutcome, reason: String?)
}

/// Receives deploy events; called on the coordinator's executor, so it must return quickly.
public typealias DeployProgress = @Sendable (DeployEvent) -> Void
