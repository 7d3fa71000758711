import BatonOS
import BatonSandbox
import BatonStore
import Glibc

/// One RUN: the program runs in a Baton sandbox, confined as an app is (namespaces, no
/// capabilities, the seccomp allowlist, /proc and /sys read-only where they matter), on the
/// image so far as read-only overlay lower layers. What it changes lands in an overlay upper
/// dir of its own, which becomes the step's layer.
/// What one RUN may use, as `baton run`'s flags: memory (bytes), processes, CPUs, and wall
/// time (seconds) before it is killed. nil: no limit.
public struct RunLimits: Sendable {
    public var memory: UInt64?
    public var pids: Int?
    public var cpus: Double?
    public var timeout: Double?

    public init(memory: UInt64? = nil, pids: Int? = nil, cpus: Double? = nil, timeout: Double? = nil) {
        self.memory = memory
        self.pids = pids
        self.cpus = cpus
        self.timeout = timeout
    }
}

struct RunStep {
    let root: String
    let store: ArtifactStore
    let network: BuildNetwork?
    var limits = RunLimits()
    /// Where the program's output goes as it runs (the build's stderr).
    let output: (String) -> Void

    /// How many of the program's last output lines a failure quotes.
    static let quotedLines = 3

    /// Runs `argv` on `lowers` (unpacked layers, top first) with `config`'s environment,
    /// working directory and user. Returns the layer of its changes, or `.empty`.
    func run(argv: [String], lowers: [String], hostBinds: [String], config: ImageConfig,
             fail: (String, Int32?) -> BatonError) throws -> BuildCache.Result {
        guard !lowers.isEmpty else { throw fail("RUN needs a root with a program in it; FROM scratch has none until a COPY adds one", nil) }
        let work = try BuildWorkDirectory(root: root)
        defer { work.remove() }
        if let workdir = config.workingDir {
            try work.makeDirectory(workdir, image: ImageTree(layers: lowers))
        }
        var spec = SandboxSpec(id: "build-" + work.id, root: .layers(lowers), argv: argv)
        spec.environment = SandboxSpec.merging(SandboxSpec.defaultEnvironment, config.env)
        spec.workdir = config.workingDir ?? "/"
        spec.hostBinds = hostBinds
        spec.writableLayer = .init(upper: work.upper, work: work.work)
        spec.tmpSize = 512 << 20
        spec.dieWithParent = true
        spec.memoryLimit = limits.memory
        spec.pidsLimit = limits.pids
        spec.cpus = limits.cpus
        if let user = config.user {
            guard let ids = UserSpec.parse(user) else { throw fail("USER \(user) is not UID or UID:GID", nil) }
            spec.user = ids
        }

        var ends: [Int32] = [-1, -1]
        try sys("pipe") { pipe(&ends) }
        let devNull = try sys("open /dev/null") { open("/dev/null", O_RDONLY | O_CLOEXEC) }
        var readEnd = ends[0], writeEnd = ends[1]
        defer { for fd in [readEnd, writeEnd, devNull] where fd >= 0 { close(fd) } }
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        spec.stdio = [devNull, writeEnd, writeEnd]

        let detach = try network?.attach(&spec)
        defer { detach?() }
        let sandbox = try SandboxLauncher(root: root).launch(spec)
        close(writeEnd)
        writeEnd = -1
        let deadline = limits.timeout.map { ContinuousClock.now + .milliseconds(Int64($0 * 1000)) }
        let (tail, timedOut) = relayOutput(readEnd, until: deadline, expire: { sandbox.kill() })
        close(readEnd)
        readEnd = -1
        let exit = try sandbox.waitAndDestroy()
        guard exit.status == 0 && !timedOut else {
            let quoted = tail.isEmpty ? "no output" : "last output: " + tail.joined(separator: " / ")
            let reason = timedOut ? "ran past --timeout \(limits.timeout ?? 0) s and was killed"
                : exit.oomKilled ? "ran out of memory (--memory \(limits.memory.map(String.init) ?? "none") bytes)" : "exited with status \(exit.status)"
            throw fail("RUN \(reason) (\(quoted))", exit.status)
        }
        let builder = try store.layerBuilder()
        do {
            try builder.addOverlayUpper(work.upper)
        } catch let error as BatonError {
            throw fail(error.message, nil)
        }
        return builder.entryCount == 0 ? .empty : .layer(try builder.commit())
    }

    /// Copies the program's output to `output` line by line until every writer is gone (the
    /// sandbox's processes all die with its init); returns the last few non-empty lines, and
    /// whether `deadline` passed first, when `expire` killed the sandbox and the rest drained.
    private func relayOutput(_ fd: Int32, until deadline: ContinuousClock.Instant?, expire: () -> Void) -> ([String], Bool) {
        var timedOut = false
        var pending: [UInt8] = []
        var tail: [String] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        func emit(_ bytes: ArraySlice<UInt8>) {
            // Untrusted output: no terminal escape sequences reach the operator's terminal.
            let shown = PrintableText.of(String(decoding: bytes, as: UTF8.self))
            output(shown)
            if !shown.trimmedWhitespace.isEmpty {
                tail.append(shown.trimmedWhitespace)
                if tail.count > Self.quotedLines { tail.removeFirst() }
            }
        }
        while true {
            if let deadline, !timedOut {
                let left = deadline - ContinuousClock.now
                var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let polled = poll(&ready, 1, Int32(clamping: max(0, Int64((left / .milliseconds(1)).rounded(.up)))))
                if polled < 0 && errno == EINTR { continue }
                if polled == 0 {
                    timedOut = true
                    expire()
                    continue
                }
            }
            let count = read(fd, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            pending += buffer[0..<count]
            while let newline = pending.firstIndex(of: 0x0A) {
                emit(pending[..<newline])
                pending.removeSubrange(...newline)
            }
            // A program that never ends a line must not grow this without bound.
            if pending.count > 64 * 1024 {
                emit(pending[...])
                pending.removeAll()
            }
        }
        if !pending.isEmpty { emit(pending[...]) }
        return (tail, timedOut)
    }

}

/// How a RUN reaches the network: attaches `spec` to it and returns how to let go afterwards.
/// Without one, RUN has only loopback. The CLI gives the egress network of `baton run
/// --network egress` (BatonNetwork, which this module does not link).
public protocol BuildNetwork: Sendable {
    func attach(_ spec: inout SandboxSpec) throws -> @Sendable () -> Void
}
