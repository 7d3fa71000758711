@testable import BatonDeploy
import BatonOS
import Testing

@Suite struct ConcurrencyAndRollbackTests {
    typealias F = DeployFixture

    @Test func secondDeployOfTheSameAppIsRefusedWhileOtherAppsProceed() async throws {
        let gate = Gate()
        // web's green is held at its health check until the gate opens; api's answers at once.
        let fixture = DeployFixture(probe: { sandbox, log, _ in
            sandbox.app == "web" ? ScriptedProbe([.responded(status: 200)], gate: gate, log: log)
                : ScriptedProbe([.responded(status: 200)])
        })
        fixture.serve("web", F.v1)
        let first = Task { try await fixture.coordinator.deploy(app: "web", to: F.v2, settings: F.settings()) }
        try await waitUntil { await fixture.coordinator.status(of: "web")?.greenState == .checking }

        let refused = await batonError {
            _ = try await fixture.coordinator.deploy(app: "web", to: F.v3, settings: F.settings())
        }
        #expect(refused?.code == .conflict)
        #expect(refused?.message == "a deploy of web is already in progress")
        let rollbackRefused = await batonError {
            _ = try await fixture.coordinator.rollback(app: "web", settings: F.settings())
        }
        #expect(rollbackRefused?.code == .conflict)

        // The refused deploy started nothing.
        #expect(!fixture.log.all.contains("start \(F.v3)"))
        let other = try await fixture.coordinator.deploy(app: "api", to: F.v3, settings: F.settings())
        #expect(other.outcome == .succeeded)
        #expect(await fixture.coordinator.inProgress().map(\.app) == ["web"])

        gate.open()
        let record = try await first.value
        #expect(record.toDigest == F.v2)
        #expect(fixture.routes.current("web")?.digest == F.v2)
        #expect(fixture.routes.current("api")?.digest == F.v3)
        // Once the first is done the app is free again.
        _ = try await fixture.coordinator.deploy(app: "web", to: F.v3, settings: F.settings())
    }

    @Test func rollbackDeploysTheDigestThatServedBefore() async throws {
        let fixture = DeployFixture()
        let coordinator = fixture.coordinator
        _ = try await coordinator.deploy(app: "web", to: F.v1, settings: F.settings())
        _ = try await coordinator.deploy(app: "web", to: F.v2, settings: F.settings())

        let back = try await coordinator.rollback(app: "web", settings: F.settings())
        #expect(back.fromDigest == F.v2 && back.toDigest == F.v1)
        #expect(fixture.routes.current("web")?.digest == F.v1)
        // The digest before v1 is now v2: a second rollback undoes the first.
        let forth = try await coordinator.rollback(app: "web", settings: F.settings())
        #expect(forth.toDigest == F.v2)
    }

    @Test func rollbackOfAConfigurationSwapRestoresTheEarlierConfigurationOnTheSameDigest() async throws {
        let fixture = DeployFixture()
        let coordinator = fixture.coordinator
        func settings(_ version: Int64) -> DeploySettings {
            var settings = F.settings()
            settings.configVersion = version
            return settings
        }
        _ = try await coordinator.deploy(app: "web", to: F.v1, settings: settings(1))
        _ = try await coordinator.deploy(app: "web", to: F.v2, settings: settings(1))
        let changed = try await coordinator.deploy(app: "web", to: F.v2, settings: settings(2))
        #expect(changed.fromDigest == F.v2 && changed.fromConfigVersion == 1 && changed.configVersion == 2)

        let back = try await coordinator.rollback(app: "web", settings: F.settings())
        #expect(back.toDigest == F.v2 && back.configVersion == 1, "the same bytes with the configuration before")
        #expect(fixture.routes.current("web")?.configVersion == 1)
        #expect(fixture.log.all.filter { $0.hasPrefix("start") }.last == "start \(F.v2) config 1")
        // The next rollback goes forward to what the first one replaced.
        let forth = try await coordinator.rollback(app: "web", settings: F.settings())
        #expect(forth.toDigest == F.v2 && forth.configVersion == 2)
    }

    @Test func rollbackIgnoresFailedDeployments() async throws {
        let fixture = DeployFixture(probe: { sandbox, _, _ in
            ScriptedProbe([sandbox.digest == F.v3 ? .responded(status: 500) : .responded(status: 200)])
        })
        let coordinator = fixture.coordinator
        _ = try await coordinator.deploy(app: "web", to: F.v1, settings: F.settings())
        _ = try await coordinator.deploy(app: "web", to: F.v2, settings: F.settings())
        _ = await batonError { _ = try await coordinator.deploy(app: "web", to: F.v3, settings: F.settings(healthTimeout: .seconds(1))) }
        let back = try await coordinator.rollback(app: "web", settings: F.settings())
        #expect(back.toDigest == F.v1)
    }

    @Test func rollbackToANamedDigest() async throws {
        let fixture = DeployFixture()
        _ = try await fixture.coordinator.deploy(app: "web", to: F.v1, settings: F.settings())
        let record = try await fixture.coordinator.rollback(app: "web", to: F.v3, settings: F.settings())
        #expect(record.toDigest == F.v3)
    }

    @Test func rollbackWithNothingEarlierSaysWhatToDo() async throws {
        let fixture = DeployFixture()
        let never = await batonError { _ = try await fixture.coordinator.rollback(app: "web", settings: F.settings()) }
        #expect(never?.code == .notFound)
        #expect(never?.message == "web serves nothing yet: deploy it first with 'baton deploy web REF'")

        _ = try await fixture.coordinator.deploy(app: "web", to: F.v1, settings: F.settings())
        let once = await batonError { _ = try await fixture.coordinator.rollback(app: "web", settings: F.settings()) }
        #expect(once?.code == .notFound)
        #expect(once?.message == "web has served only sha256:111111111111: there is no earlier digest to roll back to; name one with --to REF")
        #expect(fixture.routes.current("web")?.digest == F.v1)
        // A refused rollback records nothing and leaves the app free.
        #expect(fixture.recorder.all.count == 1)
        #expect(await fixture.coordinator.status(of: "web") == nil)
    }
}
