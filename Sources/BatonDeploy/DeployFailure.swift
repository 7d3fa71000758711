import BatonOS

/// Why a deploy did not move traffic, carried as the `cause` of the `BatonError` that
/// `SwapCoordinator.deploy` throws: the CLI prints the error's one-line message, then
/// `logLines`.
public struct DeployFailure: Error, Sendable, CustomStringConvertible {
    public let app: String
    public let digest: String
    /// Green's id, nil if it never started.
    public let sandboxID: String?
    public let reason: String
    /// Green's last log lines, oldest first.
    public let logLines: [String]
    /// The deployment as recorded, if recording began.
    public let record: DeploymentRecord?
    /// The lower-level error, if one caused this.
    public let underlying: (any Error)?

    public var description: String { reason }
}

extension BatonError {
    /// The deploy failure behind this error, if it came from a deploy.
    public var deployFailure: DeployFailure? { cause as? DeployFailure }
}

/// `250ms`, `1.5s`, `30s`: durations in messages.
func formatted(_ duration: Duration) -> String {
    let parts = duration.components
    let millis = parts.seconds * 1000 + parts.attoseconds / 1_000_000_000_000_000
    if millis < 1000 { return "\(millis)ms" }
    if millis % 1000 == 0 { return "\(millis / 1000)s" }
    return "\(Double(millis) / 1000)s"
}
