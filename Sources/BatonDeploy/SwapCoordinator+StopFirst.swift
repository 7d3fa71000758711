import BatonOS

extension SwapCoordinator {
    /// The stop-first swap, for apps that must never run twice at once. Read top to bottom:
    ///
    /// hold the app's new requests → drain blue (deadline) → stop blue → start green → wait until
    /// healthy (deadline) → route to green → release the held requests to it.
    ///
    /// If green fails, blue's digest is started again (with its digest's and configuration's settings), routed
    /// and released to, and the deployment is recorded failed; if that fails too, the held
    /// requests are released to no target (503) and the app serves nothing. Every way out
    /// releases the hold: nothing is left waiting past this call.
    func swapStopFirst(_ blue: SandboxHandle, _ context: FailureContext, holder: any RequestHolder, holdTimeout: Duration,
                       trail: inout DeploymentTrail, progress: @escaping DeployProgress,
                       settingsFor: SettingsLookup) async throws -> DeploymentRecord {
        var failure = context
        failure.settings.health = Self.checkedOften(failure.settings.health)
        let app = failure.app
        let settings = failure.settings
        do {
            try await holder.hold(app: app, timeout: holdTimeout)
        } catch {
            // Nothing held, nothing stopped: blue serves on, as after any failed start.
            throw await fail(failure, green: nil, trail: &trail,
                             SwapAbort(outcome: .failed, reason: "could not hold the requests of \(app): \(error)",
                                       code: .internal, underlying: error),
                             logLines: [])
        }
        await completed(.held, app: app, trail: &trail)

        // From here until green (or blue again) is routed, the app's requests wait.
        var illegal = await retire(blue, settings: settings, trail: &trail)

        var started: SandboxHandle?
        let green: SandboxHandle
        do {
            green = try await startAndRouteGreen(failure, trail: &trail, progress: progress, started: &started)
        } catch {
            let logLines = await stopFailedGreen(started, failure)
            var context = failure
            context.servingNow = await restore(blue, trail: &trail, progress: progress, settingsFor: settingsFor)
            await holder.release(app: app)
            throw await self.fail(context, green: started, trail: &trail, error, logLines: logLines)
        }
        await holder.release(app: app)
        illegal = illegal ?? moveAfterFlip(app) { status throws(BatonError) in try status.moveGreen(to: .serving) }
        await completed(.routed, app: app, trail: &trail)
        return try await finishRouted(green, illegal: illegal, trail: &trail)
    }

    /// Held requests wait on every health check: while they do, a sandbox is asked at least
    /// every 25 ms rather than backing off to the policy's usual second.
    static func checkedOften(_ policy: HealthCheckPolicy) -> HealthCheckPolicy {
        var policy = policy
        policy.maxInterval = min(policy.maxInterval, .milliseconds(25))
        policy.firstInterval = min(policy.firstInterval, policy.maxInterval)
        return policy
    }

    /// Green failed after blue was stopped: blue's digest is started again and routed. Returns
    /// what serves the app now, in words for the failure's message.
    private func restore(_ blue: SandboxHandle, trail: inout DeploymentTrail, progress: @escaping DeployProgress,
                         settingsFor: SettingsLookup) async -> String {
        let app = blue.app
        let digest = shortDigest(blue.digest)
        var settings: DeploySettings
        do {
            settings = try settingsFor(blue.digest, blue.configVersion).validated()
            settings.health = Self.checkedOften(settings.health)
        } catch {
            return "\(app) serves nothing: \(digest) could not be started again: \(error)"
        }
        let again: SandboxHandle
        do {
            again = try await runtime.start(app: app, digest: blue.digest, configVersion: blue.configVersion)
        } catch {
            return "\(app) serves nothing: \(digest) could not be started again: \(error)"
        }
        var why: String
        do {
            let report = try await checkHealth(again, settings: settings, progress: progress)
            if report.verdict == .healthy {
                try await routes.install(app: app, sandbox: again)
                await completed(.restored, app: app, trail: &trail, detail: again.id)
                logger.warning("deploy of \(app) failed after \(blue.id) was stopped: \(digest) runs again on \(again.id)")
                return "\(app) serves \(digest) again on \(again.id)"
            }
            why = report.lastResult.map { "its health check failed (last check: \($0))" } ?? "its health check failed"
            if case .exited(let reason) = report.verdict { why = "it stopped: \(reason)" }
        } catch {
            why = "\(error)"
        }
        await runtime.stop(again, grace: settings.stopGrace)
        return "\(app) serves nothing: \(digest) could not be started again: \(why)"
    }
}
