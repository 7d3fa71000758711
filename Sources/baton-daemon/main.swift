import BatonDaemon

// What `baton daemon` execs: the proxy, the state database and the control API.
DaemonCommand.runMain()
