/// Why a deployment began: an operator's `deploy` (or a change of configuration, or `apply`),
/// an operator's `rollback`, or the daemon's `restart` of a serving sandbox that died.
enum DeploymentTrigger: String, Sendable {
    case deploy, rollback, restart
}

/// The trigger of the swaps the current task runs, with what a reader should know (for a
/// restart: which sandbox died, and how). A task-local value, so the coordinator, which
/// records the deployment, carries it without knowing of it: the reason for a swap is the
/// daemon's business, not BatonDeploy's.
struct DeploymentCause: Sendable {
    let trigger: DeploymentTrigger
    let detail: String?

    @TaskLocal static var current = DeploymentCause(trigger: .deploy, detail: nil)
}
