import BatonDeploy
import BatonProxy
import Foundation

/// BatonDeploy's route installer, drainer and request holder over the daemon's state and
/// proxy: an app's serving sandbox is persisted first, then the whole route table is rebuilt
/// and installed in one step.
struct SandboxRouting: RouteInstaller, LongLivedDrainer, RequestHolder, TrafficWatch {
    let database: StateDatabase
    let runtime: SandboxRuntimeService
    let service: ControlService

    /// The sandbox serving `app`, while it runs: one that has exited serves nothing. For an app
    /// of replicas, the group's running members as one handle (its first, then the others).
    func serving(app: String) async throws -> SandboxHandle? {
        let members = try database.servingGroup(app: app).compactMap { runtime.live(id: $0.id) }
        guard var first = members.first else { return nil }
        first.replicas = Array(members.dropFirst())
        return first
    }

    func install(app: String, sandbox: SandboxHandle) async throws {
        // A group is named by its first sandbox, which its replicas' rows go on naming after it
        // died and was replaced: routing back to such a group (a handle from `serving`) must
        // name that first one, or its other replicas would drop out of the route.
        let group = try database.sandbox(id: sandbox.id)?.replicaOf ?? sandbox.id
        try database.setServing(app: app, sandbox: group)
        try await service.reloadRoutes()
    }

    func hold(app: String, timeout: Duration) async throws {
        try service.routes.hold(app: app, timeout: timeout)
    }

    func release(app: String) async {
        service.routes.release(app: app)
    }

    /// Drains every replica of the group together, by one deadline.
    func drain(_ sandbox: SandboxHandle, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        return await withTaskGroup(of: Bool.self) { group in
            for member in sandbox.members {
                guard let row = try? database.sandbox(id: member.id) else { continue }
                group.addTask { [service] in
                    await service.proxy.drain(target: .sandbox(member.network, port: row.port), deadline: deadline)
                }
            }
            var drained = true
            for await done in group { drained = drained && done }
            return drained
        }
    }

    /// longlived: ordinary requests up to `timeout`, WebSocket tunnels and event streams up to
    /// `longTimeout`, then ended by the proxy (close frame 1001, the stream's end); every
    /// replica of the group together, by the same deadlines, their counts added up.
    func drainLongLived(_ sandbox: SandboxHandle, timeout: Duration, longTimeout: Duration) async -> DrainOutcome {
        let now = ContinuousClock.now
        return await withTaskGroup(of: DrainReport.self) { group in
            for member in sandbox.members {
                guard let row = try? database.sandbox(id: member.id) else { continue }
                group.addTask { [service] in
                    await service.proxy.drain(target: .sandbox(member.network, port: row.port), deadline: now + timeout,
                                              longDeadline: now + longTimeout)
                }
            }
            var outcome = DrainOutcome(drained: true, longLived: LongLivedCounts(open: 0, closedByClient: 0, closedByApp: 0, closedByBaton: 0))
            for await report in group {
                let counts = report.longLived
                outcome.drained = outcome.drained && report.drained
                outcome.longLived?.open += counts.open
                outcome.longLived?.closedByClient += counts.closedByClient
                outcome.longLived?.closedByApp += counts.closedByApp
                outcome.longLived?.closedByBaton += counts.closedByBaton
            }
            return outcome
        }
    }

    /// Bake (part 3): the proxy's figures of the sandbox's responses, every replica of its
    /// group added up.
    func traffic(of sandbox: SandboxHandle, lastSeconds seconds: Int) async -> TrafficFigures? {
        var total: TrafficSummary?
        for member in sandbox.members {
            guard let row = try? database.sandbox(id: member.id),
                  let summary = service.proxy.traffic(target: .sandbox(member.network, port: row.port), lastSeconds: seconds)
            else { continue }
            total = total.map { var sum = $0; sum.add(summary); return sum } ?? summary
        }
        guard let total else { return nil }
        let p99 = total.p99.map { Double($0.components.seconds) * 1000 + Double($0.components.attoseconds) / 1e15 }
        return TrafficFigures(seconds: seconds, responses: total.responses, serverErrors: total.serverErrors, p99Milliseconds: p99)
    }
}
