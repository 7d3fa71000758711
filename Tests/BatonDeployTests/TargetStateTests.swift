@testable import BatonDeploy
import Testing

@Suite struct TargetStateTests {
    @Test func greenPathAndBluePathAreAllowed() {
        let green: [TargetState] = [.starting, .checking, .healthy, .serving, .draining, .stopped]
        for (from, to) in zip(green, green.dropFirst()) {
            #expect(from.canMove(to: to), "\(from) -> \(to)")
        }
        #expect(TargetState.checking.canMove(to: .failed))
        #expect(TargetState.failed.canMove(to: .stopped))
    }

    @Test func unhealthyGreenCannotBeRoutedAndStoppedCannotRevive() {
        #expect(!TargetState.checking.canMove(to: .serving))
        #expect(!TargetState.failed.canMove(to: .serving))
        #expect(!TargetState.stopped.canMove(to: .starting))
        #expect(!TargetState.serving.canMove(to: .healthy))
    }
}
