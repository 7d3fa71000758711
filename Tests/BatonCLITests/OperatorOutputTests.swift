import BatonControl
@testable import BatonCLI
import Testing

/// What `ps`, `daemon status`, `deploy` and `app create` print: a small program is not
/// `0 MiB`; an uptime reads at a glance; a URL carries the port the daemon listens on.
@Suite struct OperatorOutputTests {
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

    @Test func urlsNameThePortUnlessItIsTheSchemesOwn() {
        var info = DaemonInfo(pid: 1, version: "0", handingOff: false)
        #expect(info.urls(host: "web.localhost").isEmpty)
        info.listen = "127.0.0.1:8080"
        #expect(info.urls(host: "web.localhost") == ["http://web.localhost:8080/"])
        info.listenTLS = "[::1]:8443"
        #expect(info.urls(host: "web.localhost") == ["http://web.localhost:8080/", "https://web.localhost:8443/"])
        info.listen = "0.0.0.0:80"
        info.listenTLS = "0.0.0.0:443"
        #expect(info.urls(host: "a.example.com") == ["http://a.example.com/", "https://a.example.com/"])
    }
}
