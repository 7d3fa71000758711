import Foundation
import Glibc
import Testing

/// Bad configuration input: one `error:` line, a non-zero exit, and nothing changed.
@Suite(.serialized, .enabled(if: geteuid() == 0, "requires root"))
struct ConfigInputTests {
    @Test func eachMistakeIsOneErrorLineAndChangesNothing() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1")
        try fixture.baton(["app", "set", "web", "--env", "A=1", "--secret", "TOKEN=hunter2"])
        try fixture.baton(["deploy", "web", "site:1"])
        try fixture.baton(["app", "create", "old", "--host", "old.test", "--upstream", "127.0.0.1:9"])
        let big = "\(fixture.root)-big"
        try String(repeating: "x", count: (64 << 10) + 1).write(toFile: big, atomically: true, encoding: .utf8)
        defer { unlink(big) }
        let before = try fixture.baton(["app", "inspect", "web"]).stdout
        let historyBefore = try fixture.history().count
        let sandbox = try fixture.servingSandbox().id

        let mistakes: [([String], String)] = [
            (["app", "set", "web", "--secret-file", "KEY=/nonexistent/key"],
             "error: cannot read secret file /nonexistent/key: No such file or directory (errno 2)"),
            (["app", "set", "web", "--secret-file", "KEY=\(big)"], "error: secret file \(big) is larger than 65536 bytes (64 KiB)"),
            (["app", "set", "web", "--secret-file", "KEY"], "error: invalid --secret-file 'KEY': use KEY=PATH (see 'baton --help')"),
            (["app", "set", "web", "--env", "BAD-NAME=1"],
             "error: invalid --env name 'BAD-NAME': use 1-255 letters, digits and '_', not starting with a digit"),
            (["app", "set", "web", "--env", "PORT=9000"],
             "error: invalid --env name 'PORT': Baton sets it to the app's port: change the port with --port"),
            (["app", "set", "web", "--secret", "BATON_SANDBOX=x"], "error: invalid --secret name 'BATON_SANDBOX': names starting BATON_ are Baton's own"),
            (["app", "set", "web", "--unset", "MISSING"], "error: cannot unset MISSING: the app has no variable or secret MISSING"),
            (["app", "set", "web", "--env", "TOKEN=plain"], "error: TOKEN is a secret of the app: --unset TOKEN first to make it a plain variable"),
            (["app", "set", "web", "--secret", "A=hidden"], "error: A is an environment variable of the app: --unset A first to make it a secret"),
            (["app", "set", "web", "--memory", "100"], "error: invalid --memory 100: use at least 1048576 bytes (1 MiB)"),
            (["app", "set", "web"], "error: nothing to set: give --env, --unset, --secret, --secret-file, a limit, a health setting, --volume, --strategy, a proxy setting or a deploy setting (--smoke, --bake, --drain-long-timeout, --replicas) (see 'baton --help')"),
            (["app", "set", "ghost", "--env", "A=1"], "error: no app named ghost: see 'baton app ls'"),
            (["app", "set", "old", "--secret", "A=1"], "error: app old routes to an upstream outside Baton: --secret apply only to sandbox apps"),
            (["app", "create", "new", "--host", "new.test", "--secret-file", "KEY=/nonexistent/key"],
             "error: cannot read secret file /nonexistent/key: No such file or directory (errno 2)"),
            (["app", "create", "new", "--host", "new.test", "--env", "BATON_APP=x"],
             "error: invalid --env name 'BATON_APP': names starting BATON_ are Baton's own"),
        ]
        for (arguments, message) in mistakes {
            let result = try fixture.baton(arguments, allowFailure: true)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr == message + "\n", "\(arguments)")
            #expect(result.stdout.isEmpty, "\(arguments)")
        }
        #expect(try fixture.baton(["app", "inspect", "web"]).stdout == before, "the app is as it was")
        #expect(try fixture.history().count == historyBefore, "no deploy was attempted")
        #expect(try fixture.servingSandbox().id == sandbox)
        let apps = try fixture.json(["app", "ls"]) as? [[String: Any]] ?? []
        #expect(apps.compactMap { $0["name"] as? String }.sorted() == ["old", "web"], "no app was created")
    }
}
