@testable import BatonDeploy
import BatonOS
import Synchronization
import Testing

@Suite struct SwapStatusTests {
    @Test func greenPathAndBluePathAreAllowed() {
        let green: [SwapSandboxState] = [.starting, .checking, .healthy, .serving, .draining, .stopped]
        for (from, to) in zip(green, green.dropFirst()) {
            #expect(from.canMove(to: to), "\(from) -> \(to)")
        }
        #expect(SwapSandboxState.checking.canMove(to: .failed))
        #expect(SwapSandboxState.failed.canMove(to: .stopped))
    }

    @Test func unhealthyGreenCannotBeRoutedAndStoppedCannotRevive() {
        #expect(!SwapSandboxState.checking.canMove(to: .serving))
        #expect(!SwapSandboxState.failed.canMove(to: .serving))
        #expect(!SwapSandboxState.stopped.canMove(to: .starting))
        #expect(!SwapSandboxState.serving.canMove(to: .healthy))
    }

    /// Checked in release builds too: an illegal move throws and changes nothing.
    @Test func anIllegalMoveThrowsAndLeavesTheStateAsItWas() throws {
        var status = SwapStatus(app: "web")
        let routedUnchecked = #expect(throws: BatonError.self) { try status.moveGreen(to: .serving) }
        #expect(routedUnchecked?.code == .internal)
        #expect(routedUnchecked?.message == "the swap of web cannot move green from starting to serving")
        #expect(status.greenState == .starting)
        let noBlue = #expect(throws: BatonError.self) { try status.moveBlue(to: .draining) }
        #expect(noBlue?.message == "the swap of web cannot move blue from nothing to draining")
        #expect(status.blueState == nil)
        try status.moveGreen(to: .checking)
        #expect(status.greenState == .checking)
    }

    /// Something corrupts the swap's record of green while its health is checked (a bug
    /// elsewhere): the swap fails cleanly, green stopped and blue still serving, no crash.
    @Test func aCorruptedGreenStateFailsTheSwapBeforeTheFlip() async throws {
        let coordinator = Mutex<SwapCoordinator?>(nil)
        let fixture = DeployFixture(probe: { _, log, _ in
            CorruptingProbe { await coordinator.withLock { $0 }?.overwriteGreenState(of: "web", with: .stopped) }
        })
        coordinator.withLock { $0 = fixture.coordinator }
        let blue = fixture.serve("web", F.v1)
        let error = await batonError { _ = try await fixture.coordinator.deploy(app: "web", to: F.v2, settings: F.settings()) }
        #expect(error?.code == .internal)
        #expect(error?.message.contains("cannot move green from stopped to healthy") == true, "\(error?.message ?? "")")
        #expect(fixture.routes.current("web") == blue)
        #expect(fixture.runtime.running == ["blue"])
        #expect(fixture.recorder.all.first?.outcome == .failed)
        #expect(await fixture.coordinator.status(of: "web") == nil)
    }

    typealias F = DeployFixture
}

/// A healthy probe that first runs `corrupt`.
private struct CorruptingProbe: HealthProbe {
    let corrupt: @Sendable () async -> Void
    func check(timeout: Duration) async -> HealthResult {
        await corrupt()
        return .responded(status: 200)
    }
}

extension SwapCoordinator {
    fileprivate func overwriteGreenState(of app: String, with state: SwapSandboxState) {
        swaps[app]?.greenState = state
    }
}
