import BatonOS

/// `--replicas N`: how many sandboxes serve a sandbox app at once, each health-gated, routed
/// round-robin by the proxy (a replica whose connect fails is skipped for a while), and
/// restarted alone when it dies. Stored on the app (migration v12), used from its next deploy.
extension AppSpec {
    public static let replicaRange = 1...16

    /// The spec's replicas, or 1 when it leaves them out.
    public var storedReplicas: Int { replicas ?? 1 }
}

extension AppValidation {
    /// 1 to 16, and only for sandbox apps: an upstream app runs outside Baton.
    static func validateReplicas(_ spec: AppSpec) throws(BatonError) {
        guard let replicas = spec.replicas else { return }
        if spec.upstream != nil && replicas != 1 {
            throw BatonError(.invalidArgument, "--upstream apps run outside Baton: --replicas does not apply")
        }
        guard AppSpec.replicaRange.contains(replicas) else {
            throw BatonError(.invalidArgument, "invalid --replicas \(replicas): use \(AppSpec.replicaRange.lowerBound)-\(AppSpec.replicaRange.upperBound)")
        }
    }
}
