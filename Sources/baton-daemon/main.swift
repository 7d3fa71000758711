import BatonDaemon

// What `baton daemon` execs: the proxy, the state database and the control API; and, as
// `baton-daemon registry …`, the registry client `baton artifact push/pull` and `baton login` exec; as `baton-daemon export …`, what `baton export` execs.
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "registry" { RegistryCommand.runMain(Array(arguments.dropFirst())) }
if arguments.first == "export" { ExportRunCommand.runMain(Array(arguments.dropFirst())) }
DaemonCommand.runMain()
