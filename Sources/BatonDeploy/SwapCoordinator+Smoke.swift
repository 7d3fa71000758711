import BatonOS

extension SwapCoordinator {
    /// The smoke gate, between healthy and the flip: green must pass each of the app's smoke
    /// checks, sent through its own network namespace with the app's Host. A failure throws,
    /// and the swap is abandoned exactly like a failed health check (green's logs in the
    /// error, green stopped, blue untouched); a pass is recorded as the `smoked` phase.
    func passSmokeGate(_ green: SandboxHandle, _ settings: DeploySettings, trail: inout DeploymentTrail) async throws(SwapAbort) {
        let gate = settings.smoke
        guard !gate.checks.isEmpty else { return }
        // Every replica of green: round-robin will send the public to each.
        for member in green.members {
            if let reason = await gate.firstFailure(port: settings.port, in: member.network) {
                markGreen(green.app, .failed)
                throw SwapAbort(outcome: .failed, reason: "\(member.id) \(reason)", code: .setupFailed, underlying: nil)
            }
        }
        await completed(.smoked, app: green.app, trail: &trail,
                        detail: gate.checks.count == 1 ? "1 check passed" : "\(gate.checks.count) checks passed")
    }
}
