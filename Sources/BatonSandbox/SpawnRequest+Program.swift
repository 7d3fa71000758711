import BatonOS

extension SpawnRequest {
    /// The namespaces every sandbox has; a user namespace is added on request.
    static func sandboxNamespaces(userNamespace: Bool) -> Int32 {
        let all = Namespaces.mount | Namespaces.pid | Namespaces.uts | Namespaces.ipc | Namespaces.network | Namespaces.cgroup
        return userNamespace ? all | Namespaces.user : all
    }

    /// The program half, the same for a sandbox's own program and one `exec`'d into it:
    /// environment and PATH search, identity, capabilities, seccomp, rlimits, forwarded signals.
    mutating func setProgram(environment: [String], workdir: String, stdio: [Int32], user: (uid: UInt32, gid: UInt32)?,
                             userNamespace: Bool, keepCapabilities keep: UInt64, seccomp: [UInt64]?) {
        self.environment = environment
        searchPath = SpecValidation.searchPath(in: environment)
        self.workdir = workdir
        self.stdio = stdio
        self.user = user
        // In a user namespace setgroups is denied; the namespace has no supplementary groups anyway.
        clearSupplementaryGroups = !userNamespace
        keepCapabilities = keep
        lastCapability = Capabilities.lastCapability
        seccompProgram = seccomp
        resourceLimits = SandboxLauncher.resourceLimits
        forwardedSignals = SandboxLauncher.forwardedSignals
    }
}
