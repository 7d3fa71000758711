import ArgumentParser
import BatonControl

/// `baton stop SANDBOX`: SIGTERM, a grace period, SIGKILL; the app it served answers 503.
struct StopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop a sandbox.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The sandbox's id (see 'baton ps').")
    var sandbox: String

    func run() throws {
        try global.controlClient.stop(sandbox: sandbox)
    }
}
