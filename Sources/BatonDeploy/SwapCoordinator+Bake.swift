import BatonOS

/// A bake window under way: blue, kept running with no new traffic, and whether traffic has
/// been flipped back to it. The flip back is decided once, by the window or by `baton rollback`.
struct BakeWindow {
    let blue: SandboxHandle
    var trigger: BakeTrigger?
    var flipBack: Duration?
    var flipFailure: String?
    /// `baton rollback` is installing blue's route now.
    var flipping = false
    /// `baton rollback` calls waiting for the window's record.
    var waiters: [CheckedContinuation<DeploymentRecord, Never>] = []
}

extension SwapCoordinator {
    /// How often the window looks for a rollback request or an exited green; figures are judged
    /// once a second.
    static let bakeTick = Duration.milliseconds(50)

    /// Whether `app` is in a bake window: its serving sandbox's exit is the window's to handle.
    public func baking(_ app: String) -> Bool { bakes[app] != nil }

    /// Just before the flip: blue's last minute of responses, the baseline green is judged against.
    func noteBaseline(_ failure: FailureContext) async {
        guard let blue = failure.blue, let traffic, failure.settings.bake.map({ $0.window > .zero }) == true else { return }
        baselines[failure.app] = await traffic.traffic(of: blue, lastSeconds: 60) ?? TrafficFigures(seconds: 60)
    }

    /// The bake window after the flip (none without a bake policy): blue keeps running with
    /// no new traffic while green's figures are judged each second. Returns when the window
    /// ended clean (the caller retires blue). Throws, the deployment recorded `rolled_back`,
    /// when traffic went back to blue: green is drained and stopped, blue serves.
    func bakeWindow(_ green: SandboxHandle, blue: SandboxHandle, settings: DeploySettings, trail: inout DeploymentTrail) async throws {
        let app = green.app
        let baseline = baselines.removeValue(forKey: app)
        guard let policy = settings.bake, policy.window > .zero, let traffic, case .blueGreen = settings.strategy else { return }
        _ = moveAfterFlip(app) { status throws(BatonError) in try status.moveBlue(to: .baking) }
        bakes[app] = BakeWindow(blue: blue)
        let flippedAt = clock.now()
        var report = BakeReport(result: "clean", windowSeconds: seconds(policy.window), afterSeconds: 0,
                                maxServerErrorPercent: policy.maxServerErrorPercent, maxP99Factor: policy.maxP99Factor, blue: baseline)
        var nextJudgement = flippedAt + .seconds(1)
        var blueExit: String?
        while clock.now() - flippedAt < policy.window, bakes[app]?.trigger == nil, !Task.isCancelled {
            try? await clock.sleep(for: Self.bakeTick)
            if bakes[app]?.trigger != nil { break }
            if let why = await runtime.exitReason(of: green) {
                bakes[app]?.trigger = BakeTrigger(kind: .greenExited, reason: "\(green.id) exited during the bake window: \(why)")
                break
            }
            if let why = await runtime.exitReason(of: blue) {
                blueExit = "\(blue.id) exited: \(why)"
                break
            }
            guard clock.now() >= nextJudgement else { continue }
            nextJudgement = nextJudgement + .seconds(1)
            let elapsed = Int((clock.now() - flippedAt).components.seconds)
            let figures = await traffic.traffic(of: green, lastSeconds: min(BakePolicy.judgedSeconds, elapsed + 1))
                ?? TrafficFigures(seconds: min(BakePolicy.judgedSeconds, elapsed + 1))
            report.green = figures
            if bakes[app]?.trigger == nil, let trigger = policy.verdict(green: figures, blue: baseline ?? TrafficFigures(seconds: 60)) {
                bakes[app]?.trigger = trigger
            }
        }
        report.afterSeconds = seconds(clock.now() - flippedAt)
        guard var window = bakes[app], let trigger = window.trigger else {
            // Clean (or blue is gone, and there is nothing to go back to; or the deploy was
            // cancelled, the daemon stopping): blue is retired as without a window.
            if Task.isCancelled && blueExit == nil { blueExit = "the deploy was interrupted" }
            report.result = blueExit == nil ? "clean" : "ended"
            report.reason = blueExit.map { "the bake window ended early: \($0)" }
            await completed(.baked, app: app, trail: &trail, detail: report.reason ?? bakeSummary(report))
            await store(report, trail: &trail)
            release(app, record: trail.record)
            return
        }
        while bakes[app]?.flipping == true { try? await clock.sleep(for: Self.bakeTick) }
        window = bakes[app] ?? window
        if window.flipBack == nil && window.flipFailure == nil {
            // The window decided: flip back now, unless `baton rollback` already did.
            logger.info("bake window of \(app): flipping back to \(blue.id): \(trigger.reason)")
            let started = clock.now()
            do {
                try await routes.install(app: app, sandbox: blue)
                window.flipBack = clock.now() - started
            } catch {
                window.flipFailure = "could not route back to \(blue.id): \(error)"
            }
            bakes[app] = window
        }
        report.trigger = trigger.kind.rawValue
        report.reason = trigger.reason
        report.green = report.green ?? TrafficFigures(seconds: 0)
        report.flipBackMilliseconds = window.flipBack.map { seconds($0) * 1000 }
        if let failure = window.flipFailure {
            // Traffic stays on green: blue is retired as after a clean window, and the record says why.
            report.result = "clean"
            report.reason = "\(trigger.reason); \(failure)"
            await completed(.baked, app: app, trail: &trail, detail: report.reason)
            await store(report, trail: &trail)
            release(app, record: trail.record)
            return
        }
        report.result = "rolled_back"
        _ = moveAfterFlip(app) { status throws(BatonError) in try status.moveBlue(to: .serving) }
        _ = moveAfterFlip(app) { status throws(BatonError) in try status.moveGreen(to: .draining) }
        await completed(.reverted, app: app, trail: &trail,
                        detail: "\(trigger.reason); back on \(blue.id) in \(formattedMilliseconds(report.flipBackMilliseconds ?? 0))")
        await store(report, trail: &trail)
        let drained = await drain(green, timeout: settings.drainTimeout)
        await completed(.drained, app: app, trail: &trail,
                        detail: drained ? green.id : "drain timeout of \(formatted(settings.drainTimeout)) passed with requests in flight on \(green.id)")
        await runtime.stop(green, grace: settings.stopGrace)
        _ = moveAfterFlip(app) { status throws(BatonError) in try status.moveGreen(to: .stopped) }
        await completed(.stopped, app: app, trail: &trail, detail: green.id)
        let reason = "rolled back to \(shortDigest(blue.digest)) after \(formatted(.milliseconds(Int64(report.afterSeconds * 1000)))): \(trigger.reason)"
        await trail.finish(.rolledBack, reason: reason)
        release(app, record: trail.record)
        logger.warning("deploy of \(app) to \(shortDigest(green.digest)) rolled back: \(trigger.reason)")
        let failure = DeployFailure(app: app, digest: green.digest, sandboxID: green.id, reason: reason, logLines: [],
                                    record: trail.record, underlying: nil)
        throw BatonError(.setupFailed, "deploy of \(app) to \(shortDigest(green.digest)) \(reason); \(app) serves \(shortDigest(blue.digest)) again",
                         cause: failure)
    }

    /// `baton rollback APP` during a bake window: traffic goes back to blue at once (a flip,
    /// no start); the window then drains and stops green and records the deployment, whose
    /// record this returns.
    func rollBackBake(app: String) async -> DeploymentRecord {
        if var window = bakes[app], window.trigger == nil {
            window.trigger = BakeTrigger(kind: .requested, reason: "rollback requested during the bake window")
            window.flipping = true
            bakes[app] = window
            logger.info("bake window of \(app): rollback requested, flipping back to \(window.blue.id)")
            let started = clock.now()
            do {
                try await routes.install(app: app, sandbox: window.blue)
                bakes[app]?.flipBack = clock.now() - started
            } catch {
                bakes[app]?.flipFailure = "could not route back to \(window.blue.id): \(error)"
            }
            bakes[app]?.flipping = false
        }
        return await withCheckedContinuation { waiter in
            if bakes[app] == nil {
                // The window ended meanwhile: its record is the latest of the app's deployments.
                waiter.resume(returning: lastRecords[app] ?? DeploymentRecord(id: 0, app: app, fromDigest: nil, toDigest: "", startedAt: clock.date()))
            } else {
                bakes[app]?.waiters.append(waiter)
            }
        }
    }

    /// Ends the window: waiting `baton rollback` calls get the record.
    private func release(_ app: String, record: DeploymentRecord) {
        lastRecords[app] = record
        for waiter in bakes[app]?.waiters ?? [] { waiter.resume(returning: record) }
        bakes[app] = nil
    }

    private func store(_ report: BakeReport, trail: inout DeploymentTrail) async {
        trail.noteBake(report)
        do {
            try await recorder.recordBake(report, deployment: trail.record.id)
        } catch {
            logger.error("cannot record the bake window of deployment \(trail.record.id): \(error)")
        }
    }

    private func bakeSummary(_ report: BakeReport) -> String {
        guard let green = report.green else { return "no responses from green" }
        let p99 = green.p99Milliseconds.map { ", p99 \(formattedMilliseconds($0))" } ?? ""
        return "green: \(green.responses) responses, \(green.serverErrors) 5xx\(p99) in its last \(green.seconds) s"
    }

    private func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
