/// The health check of a group of replicas (`--replicas N`): one check of each, together;
/// the group is healthy when every replica answers the expected status, and otherwise reports
/// the first replica that did not (so a deploy that times out says why).
struct ReplicaGroupProbe: HealthProbe {
    let probes: [any HealthProbe]
    let expectedStatus: Int

    /// The single probe itself when there is one replica.
    static func of(_ probes: [any HealthProbe], expectedStatus: Int) -> any HealthProbe {
        probes.count == 1 ? probes[0] : ReplicaGroupProbe(probes: probes, expectedStatus: expectedStatus)
    }

    func check(timeout: Duration) async -> HealthResult {
        let results = await withTaskGroup(of: (Int, HealthResult).self) { group in
            for (index, probe) in probes.enumerated() {
                group.addTask { (index, await probe.check(timeout: timeout)) }
            }
            var results: [(Int, HealthResult)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }
        }
        for (index, result) in results where result != .responded(status: expectedStatus) {
            switch result {
            case .responded: return result
            case .failed(let reason): return .failed(reason: "replica \(index + 1) of \(probes.count): \(reason)")
            }
        }
        return .responded(status: expectedStatus)
    }
}
