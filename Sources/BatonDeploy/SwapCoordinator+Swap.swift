import BatonOS

extension SwapCoordinator {
    /// The one swap path for deploy, rollback and a change of configuration. `choose` picks the
    /// digest and its settings once the app's deploy lock is held and blue is known, so a
    /// rollback decides against the route it replaces; an error it throws ends the swap before
    /// anything is recorded or started. `settingsFor` gives blue's settings (its digest and
    /// configuration version) when a failed stop-first swap starts blue again.
    public func swap(app: String, progress: @escaping DeployProgress, settingsFor: SettingsLookup,
                     choose: (SandboxHandle?) async throws -> (digest: String, settings: DeploySettings)) async throws -> DeploymentRecord {
        // Check and claim with no suspension between them: this is the app's deploy lock.
        guard swaps[app] == nil else {
            throw BatonError(.conflict, "a deploy of \(app) is already in progress")
        }
        swaps[app] = SwapStatus(app: app)
        defer { swaps[app] = nil }

        let blue: SandboxHandle?
        do {
            blue = try await routes.serving(app: app)
        } catch let error as BatonError {
            throw error
        } catch {
            throw BatonError(.internal, "cannot read the route of \(app): \(error)", cause: error)
        }
        let (digest, chosenSettings) = try await choose(blue)
        let settings = try chosenSettings.validated()
        if case .stopFirst = settings.strategy, holder == nil {
            throw BatonError(.invalidArgument, "a stop-first deploy of \(app) needs a proxy that can hold requests")
        }
        swaps[app]?.toDigest = digest
        swaps[app]?.blue = blue
        swaps[app]?.blueState = blue == nil ? nil : .serving

        var trail: DeploymentTrail
        do {
            trail = try await DeploymentTrail.begin(app: app, from: blue, to: digest, configVersion: settings.configVersion,
                                                    recorder: recorder, clock: clock, progress: progress, logger: logger)
        } catch {
            throw BatonError(.internal, "cannot record the deploy of \(app): \(error)", cause: error)
        }
        swaps[app]?.deployment = trail.record.id
        let failure = FailureContext(app: app, digest: digest, blue: blue, settings: settings)
        if case .stopFirst(let holdTimeout) = settings.strategy, let blue, let holder {
            return try await swapStopFirst(blue, failure, holder: holder, holdTimeout: holdTimeout, trail: &trail,
                                           progress: progress, settingsFor: settingsFor)
        }

        // Up to the flip, any failure stops green and leaves blue serving, untouched.
        var started: SandboxHandle?
        let green: SandboxHandle
        do {
            green = try await startAndRouteGreen(failure, trail: &trail, progress: progress, started: &started)
        } catch {
            throw await abandon(started, failure, trail: &trail, error)
        }

        // Traffic is on green now, whatever the bookkeeping says: blue is still drained and
        // stopped, so nothing is left behind, and an illegal move fails the record instead.
        var illegal = moveAfterFlip(app) { status throws(BatonError) in try status.moveGreen(to: .serving) }
        await completed(.routed, app: app, trail: &trail)

        if let blue {
            try await bakeWindow(green, blue: blue, settings: settings, trail: &trail)
            let retiring = await retire(blue, settings: settings, trail: &trail)
            illegal = illegal ?? retiring
        }
        return try await finishRouted(green, illegal: illegal, trail: &trail)
    }

    /// Drains blue (deadline) and stops it, recording `drained` and `stopped`; returns an
    /// illegal move of its state, if one was made.
    func retire(_ blue: SandboxHandle, settings: DeploySettings, trail: inout DeploymentTrail) async -> BatonError? {
        let app = blue.app
        var illegal = moveAfterFlip(app) { status throws(BatonError) in try status.moveBlue(to: .draining) }
        let outcome = await drain(blue, settings: settings)
        if let counts = outcome.longLived, counts.open > 0 { await trail.recordLongLived(counts) }
        await completed(.drained, app: app, trail: &trail, detail: drainedDetail(outcome, settings: settings))
        await runtime.stop(blue, grace: settings.stopGrace)
        illegal = illegal ?? moveAfterFlip(app) { status throws(BatonError) in try status.moveBlue(to: .stopped) }
        await completed(.stopped, app: app, trail: &trail, detail: blue.id)
        return illegal
    }

    /// Ends a swap whose traffic is on green: succeeded, or failed when its bookkeeping made an
    /// illegal move (traffic stays on green).
    func finishRouted(_ green: SandboxHandle, illegal: BatonError?, trail: inout DeploymentTrail) async throws -> DeploymentRecord {
        let (app, digest) = (green.app, green.digest)
        if let illegal {
            await trail.finish(.failed, reason: illegal.message)
            let failure = DeployFailure(app: app, digest: digest, sandboxID: green.id, reason: illegal.message, logLines: [],
                                        record: trail.record, underlying: illegal)
            throw BatonError(.internal, "deploy of \(app) to \(shortDigest(digest)) failed: \(illegal.message); \(app) serves \(shortDigest(digest)) on \(green.id)",
                             cause: failure)
        }
        await trail.finish(.succeeded)
        logger.info("deployed \(app): \(trail.record.fromDigest.map(shortDigest) ?? "nothing") -> \(shortDigest(digest)) on \(green.id)")
        return trail.record
    }

    /// Starts green, waits until it is healthy and routes to it, recording `started` and
    /// `healthy`. Throws why not; `started` names green once it runs, for the caller to stop.
    func startAndRouteGreen(_ failure: FailureContext, trail: inout DeploymentTrail, progress: @escaping DeployProgress,
                            started: inout SandboxHandle?) async throws(SwapAbort) -> SandboxHandle {
        let app = failure.app
        let green: SandboxHandle
        do {
            green = try await runtime.start(app: app, digest: failure.digest, configVersion: failure.settings.configVersion)
        } catch {
            markGreen(app, .failed)
            let interrupted = error is CancellationError
            throw SwapAbort(outcome: interrupted ? .interrupted : .failed,
                            reason: interrupted ? "interrupted while starting" : "could not start: \(error)",
                            code: interrupted ? .unavailable : (error as? BatonError)?.code ?? .setupFailed, underlying: error)
        }
        started = green
        swaps[app]?.green = green
        try moveGreen(app, to: .checking)
        await completed(.started, app: app, trail: &trail, detail: green.id)

        let report: HealthReport
        do {
            report = try await checkHealth(green, settings: failure.settings, progress: progress)
        } catch {
            markGreen(app, .failed)
            throw SwapAbort(outcome: .interrupted, reason: "interrupted while checking health", code: .unavailable, underlying: error)
        }
        if let reason = failure.unhealthyReason(report, green: green) {
            markGreen(app, .failed)
            throw SwapAbort(outcome: .failed, reason: reason, code: report.verdict == .timedOut ? .timeout : .setupFailed, underlying: nil)
        }
        try moveGreen(app, to: .healthy)
        await completed(.healthy, app: app, trail: &trail, detail: "\(report.attempts) checks")
        try await passSmokeGate(green, failure.settings, trail: &trail)

        await noteBaseline(failure)
        // The flip: one atomic step in the route installer, made while this app's deploy lock
        // is held; nothing else is held, so other apps' swaps go on meanwhile.
        do {
            try await routes.install(app: app, sandbox: green)
        } catch {
            markGreen(app, .failed)
            throw SwapAbort(outcome: .failed, reason: "could not route to green: \(error)",
                            code: (error as? BatonError)?.code ?? .internal, underlying: error)
        }
        return green
    }

    /// Health-checks `sandbox` until it answers, its program exits, or the policy's timeout.
    func checkHealth(_ sandbox: SandboxHandle, settings: DeploySettings, progress: @escaping DeployProgress) async throws -> HealthReport {
        let checker = HealthChecker(policy: settings.health, clock: clock)
        let runtime = self.runtime
        return try await checker.waitUntilHealthy(
            makeProbe(sandbox, settings),
            exitReason: { await runtime.exitReason(of: sandbox) },
            onAttempt: { progress(.healthChecked(attempt: $0, result: $1)) })
    }

    /// Moves green of `app`'s swap; an illegal move is a bug, logged and thrown so the swap
    /// fails before the flip (green stopped, blue serving).
    private func moveGreen(_ app: String, to next: SwapSandboxState) throws(SwapAbort) {
        do {
            try swaps[app]?.moveGreen(to: next)
        } catch {
            logger.error("\(error.message)")
            throw SwapAbort(outcome: .failed, reason: error.message, code: .internal, underlying: error)
        }
    }

    /// For a swap that is failing already: an illegal move is logged and the failure goes on.
    func markGreen(_ app: String, _ next: SwapSandboxState) {
        do {
            try swaps[app]?.moveGreen(to: next)
        } catch {
            logger.error("\(error.message)")
        }
    }

    /// A move after the flip: an illegal one is logged and returned.
    func moveAfterFlip(_ app: String, _ move: (inout SwapStatus) throws(BatonError) -> Void) -> BatonError? {
        guard var status = swaps[app] else { return nil }
        do {
            try move(&status)
            swaps[app] = status
            return nil
        } catch {
            logger.error("\(error.message)")
            return error
        }
    }

    func completed(_ phase: DeployPhase, app: String, trail: inout DeploymentTrail, detail: String? = nil) async {
        swaps[app]?.lastPhase = phase
        await trail.complete(phase, detail: detail)
    }

    /// Drains blue: ordinary requests up to the drain timeout, long-lived connections up to
    /// the long one (then ended by the drainer). The coordinator's own deadline, past both and
    /// the drainer's grace to end them, cancels a drainer that overruns.
    func drain(_ blue: SandboxHandle, settings: DeploySettings) async -> DrainOutcome {
        let drainer = self.drainer
        let clock = self.clock
        let (timeout, longTimeout) = (settings.drainTimeout, settings.longDrainTimeout)
        // A drainer that ends long-lived connections itself gets the long timeout and the
        // seconds it takes to end them; any other, the drain timeout.
        let limit = drainer is any LongLivedDrainer ? longTimeout + .seconds(5) : timeout
        return await withTaskGroup(of: DrainOutcome?.self) { group in
            group.addTask { await drainer.drain(blue, timeout: timeout, longTimeout: longTimeout) }
            group.addTask {
                try? await clock.sleep(for: limit)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? DrainOutcome(drained: false)
        }
    }

    /// What the `drained` phase says: nothing when all finished in time.
    private func drainedDetail(_ outcome: DrainOutcome, settings: DeploySettings) -> String? {
        var parts: [String] = []
        if let counts = outcome.longLived, counts.open > 0 {
            parts.append("\(counts.open) long-lived connections: \(counts.closedByClient) closed by clients, "
                + "\(counts.closedByApp) by the app, \(counts.closedByBaton) by Baton at \(formatted(settings.longDrainTimeout))")
        }
        if !outcome.drained {
            parts.append("drain timeout of \(formatted(settings.drainTimeout)) passed with requests in flight")
        }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }

    /// Waits for blue's in-flight requests, but never past `timeout`: a drainer that overruns
    /// is cancelled, and the swap goes on to stop blue.
    func drain(_ blue: SandboxHandle, timeout: Duration) async -> Bool {
        let drainer = self.drainer
        let clock = self.clock
        return await withTaskGroup(of: Bool?.self) { group in
            group.addTask { await drainer.drain(blue, timeout: timeout) }
            group.addTask {
                // nil: the deadline passed (or the deploy was cancelled) before the drainer answered.
                try? await clock.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? false
        }
    }

    /// Green did not make it: collect its last log lines, stop it, record the outcome, and
    /// build the error. Blue is not touched.
    private func abandon(_ green: SandboxHandle?, _ context: FailureContext, trail: inout DeploymentTrail,
                         _ abort: SwapAbort) async -> BatonError {
        let logLines = await stopFailedGreen(green, context)
        return await fail(context, green: green, trail: &trail, abort, logLines: logLines)
    }

    /// Stops a green that failed; returns its last log lines.
    func stopFailedGreen(_ green: SandboxHandle?, _ context: FailureContext) async -> [String] {
        guard let green else { return [] }
        let logLines = await runtime.lastLogLines(of: green, count: context.settings.logLineCount)
        await runtime.stop(green, grace: context.settings.stopGrace)
        markGreen(context.app, .stopped)
        return logLines
    }

    /// Records a failed swap's outcome and builds the error the caller sees.
    func fail(_ context: FailureContext, green: SandboxHandle?, trail: inout DeploymentTrail, _ abort: SwapAbort,
              logLines: [String]) async -> BatonError {
        let reason = context.recordedReason(abort.reason)
        await trail.finish(abort.outcome, reason: reason)
        logger.warning("deploy of \(context.app) to \(shortDigest(context.digest)) \(abort.outcome.rawValue): \(reason)")
        let failure = DeployFailure(app: context.app, digest: context.digest, sandboxID: green?.id, reason: reason,
                                    logLines: logLines, record: trail.record, underlying: abort.underlying)
        return BatonError(abort.code, context.message(reason: abort.reason), cause: failure)
    }
}

/// Why a swap stops before the flip; `abandon` turns it into the error the caller sees.
struct SwapAbort: Error {
    let outcome: DeploymentOutcome
    let reason: String
    let code: BatonError.Code
    let underlying: (any Error)?
}

/// What a failed swap's message needs to say.
struct FailureContext {
    let app: String
    let digest: String
    let blue: SandboxHandle?
    var settings: DeploySettings
    /// What serves the app after the failure, when it is not blue untouched (stop-first).
    var servingNow: String?

    /// What the record says: why it failed, and what serves now when that is news.
    func recordedReason(_ reason: String) -> String {
        servingNow.map { "\(reason); \($0)" } ?? reason
    }

    /// One line: what failed, and what serves now.
    func message(reason: String) -> String {
        let serving = blue.map { "\(app) still serves \(shortDigest($0.digest))" } ?? "\(app) serves nothing yet"
        let what = servingNow == nil ? "\(reason); \(serving)" : recordedReason(reason)
        return "deploy of \(app) to \(shortDigest(digest)) failed: \(what)"
    }

    /// Nil when healthy; otherwise why not, in words a user can act on.
    func unhealthyReason(_ report: HealthReport, green: SandboxHandle) -> String? {
        let last = report.lastResult.map { "last check: \($0)" } ?? "no check ran"
        switch report.verdict {
        case .healthy:
            return nil
        case .timedOut:
            return "\(green.id) did not answer \(settings.health.expectedStatus) on \(settings.healthPath) port \(settings.port)"
                + " within \(formatted(settings.health.timeout)) (\(report.attempts) checks, \(last))"
        case .exited(let why):
            return "the new sandbox \(green.id) exited during its health check: \(why) (\(last))"
        }
    }
}
