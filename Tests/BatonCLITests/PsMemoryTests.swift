@testable import BatonCLI
import Testing

/// `baton ps`'s MEMORY column: a small program is not `0 MiB`.
@Suite struct PsMemoryTests {
    @Test func belowOneMiBIsShownInKiB() {
        #expect(PsCommand.memory(0) == "0 KiB")
        #expect(PsCommand.memory(700 << 10) == "700 KiB")
        #expect(PsCommand.memory((1 << 20) - 1) == "1023 KiB")
        #expect(PsCommand.memory(1 << 20) == "1 MiB")
        #expect(PsCommand.memory(37 << 20 | 5) == "37 MiB")
    }

    @Test func uptimeKeepsTheTwoLargestUnits() {
        #expect(DaemonStatusCommand.duration(0) == "0 s")
        #expect(DaemonStatusCommand.duration(59.9) == "59 s")
        #expect(DaemonStatusCommand.duration(3_725) == "1 h 2 m")
        #expect(DaemonStatusCommand.duration(90_061) == "1 d 1 h")
    }
}
