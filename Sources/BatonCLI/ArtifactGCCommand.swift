import ArgumentParser
import BatonSandbox
import BatonStore

/// `baton artifact gc`.
struct ArtifactGCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Delete blobs and unpacked layers that no name and no running sandbox reaches."
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print one JSON object {removed_blobs, removed_layers, freed_bytes}.")
    var json = false

    func run() throws {
        try global.refuseRemote("artifact gc", instead: "copy artifacts there with 'baton artifact push REF ssh://HOST', or run it on that host")
        // Artifacts running sandboxes were made from stay, named or not: their layers are
        // those sandboxes' roots.
        let inUse = Set(SandboxRecord.allRunning(root: global.rootPath).compactMap(\.artifactDigest))
        let report = try ArtifactStore(root: global.rootPath).collectGarbage(keeping: inUse)
        if json { return try Output.json(report) }
        Output.result("removed \(report.removedBlobs) blobs (\(ProgressMeter.format(bytes: report.freedBytes))) and \(report.removedLayers) unpacked layers")
    }
}
