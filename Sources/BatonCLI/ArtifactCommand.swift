import ArgumentParser

/// `baton artifact …`: the local artifact store. Needs no daemon.
struct ArtifactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "artifact",
        abstract: "Publish, import, export, list, inspect, remove, collect and push artifacts in the local store.",
        subcommands: [
            ArtifactPublishCommand.self,
            ArtifactImportCommand.self,
            ArtifactExportCommand.self,
            ArtifactListCommand.self,
            ArtifactInspectCommand.self,
            ArtifactRemoveCommand.self,
            ArtifactGCCommand.self,
            ArtifactPushCommand.self,
            ArtifactPullCommand.self,
        ]
    )
}
