import ArgumentParser
import BatonStore

/// `baton artifact gc`.
struct ArtifactGCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Delete blobs and unpacked layers that no name reaches."
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print one JSON object {removed_blobs, removed_layers, freed_bytes}.")
    var json = false

    func run() throws {
        let report = try ArtifactStore(root: global.rootPath).collectGarbage()
        if json { return try Output.json(report) }
        Output.result("removed \(report.removedBlobs) blobs (\(ProgressMeter.format(bytes: report.freedBytes))) and \(report.removedLayers) unpacked layers")
    }
}
