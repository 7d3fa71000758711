import BatonOS
import BatonSandbox
import BatonStore

/// `baton build`: runs a Batonfile's steps on its base, one layer per step that changes files,
/// and publishes the result as `NAME:VERSION` (publish's rules: immutable, nothing named
/// until every blob is stored). Steps are cached by the digest of their inputs; a failed step
/// leaves no artifact (the cache keeps the steps that finished).
public struct Builder {
    public let root: String
    public var baseResolver: BaseResolver = .localOnly
    /// RUN's network; nil: loopback only.
    public var network: BuildNetwork?
    /// What each RUN may use (`baton build --memory/--pids/--cpus/--timeout`).
    public var runLimits = RunLimits()
    /// Progress lines (the CLI's stderr), and RUN's output.
    public var progress: (String) -> Void = { _ in }

    /// Progress with the Batonfile's text made printable.
    private func report(_ line: String) { progress(PrintableText.of(line)) }

    public init(root: String) {
        self.root = root
    }

    /// Builds `file` with `contextDirectory` as COPY's source and binds `tag` to the result.
    public func build(_ file: Batonfile, context contextDirectory: String, tag: String) throws -> PublishResult {
        _ = try Reference.parseTag(tag)
        let context = try BuildContext(directory: contextDirectory)
        let store = try ArtifactStore(root: root)
        // Everything a user can get wrong is refused before anything is written: the base
        // (except `FROM host`, whose layer is made under the lock) and every instruction.
        func resolveBase() throws -> BuiltImage.Base {
            do {
                return try baseResolver.resolve(file.from, in: store)
            } catch let error as BatonError {
                throw BatonError(error.code, PrintableText.of("\(file.fileName):\(file.fromLine): FROM \(file.from): \(error.message)"), cause: error)
            }
        }
        let early = file.from == "host" ? nil : try resolveBase()
        var config = ImageConfig()
        if case .artifact(let artifact) = early { config = artifact.config }
        let plan = try BuildPlan(file, base: config)
        try StateRoot.prepare(root)
        let cache = BuildCache(root: root)
        // The writer lock for the whole build: `gc` cannot take the layers a step just made.
        return try store.holdingLayers { () throws -> PublishResult in
            let base = try early ?? resolveBase()
            var state = "baton-build-1\n"
            switch base {
            case .none: state += "scratch"
            case .artifact(let artifact): state += artifact.digest
            case .host(let layer, _): state += "host " + layer.digest.description
            }
            let hostBinds = try store.hostBinds(of: base)
            let baseLayers = ArtifactStore.baseLayers(of: base)
            var layers: [Descriptor] = []
            let count = plan.steps.count + 1
            report("step 1/\(count) FROM \(file.from)\(base.digestNote)")
            var stateDigest = BuildCache.key(state)
            for (index, step) in plan.steps.enumerated() {
                let label = "step \(index + 2)/\(count) \(step.text)"
                func fail(_ message: String, _ status: Int32?) -> BatonError {
                    BatonError(.invalidArgument, PrintableText.of("\(file.fileName):\(step.line): \(message)"), exitStatus: status)
                }
                switch step.action {
                case .config:
                    report(label)
                    stateDigest = BuildCache.key(stateDigest.description, step.text)
                case .copy(let sources, let destination, let isDirectory, let chmod):
                    if let bind = hostBinds.first(where: { destination == $0 || destination.hasPrefix($0 + "/") }) {
                        throw fail("COPY to \(destination): with FROM host, \(bind) is the host's own directory at run time; copy into another directory such as /app", nil)
                    }
                    var copy = CopyLayer(context: context, lowers: ImageTree(layers: try store.unpackedLayers(baseLayers + layers)))
                    do {
                        try copy.add(sources: sources, destination: destination, destinationIsDirectory: isDirectory, chmod: chmod)
                    } catch let problem as BuildContext.Problem {
                        throw fail(problem.message, nil)
                    }
                    let layer = try copy.write(to: store)
                    let key = BuildCache.key(stateDigest.description, step.text, layer.digest.description)
                    let cached = cache.lookup(key, store: store) == .layer(layer)
                    if !cached { cache.record(key, .layer(layer)) }
                    report(cached ? "\(label): cached" : "\(label): \(layer.summary)")
                    layers.append(layer)
                    stateDigest = BuildCache.key(key.description, layer.digest.description)
                case .run(let argv):
                    // What a RUN can reach is one of its inputs: a fetch may succeed only with egress.
                    let key = BuildCache.key(stateDigest.description, step.text, network == nil ? "network none" : "network egress")
                    let result: BuildCache.Result
                    if let hit = cache.lookup(key, store: store) {
                        result = hit
                        report("\(label): cached")
                    } else {
                        report(label)
                        var run = RunStep(root: root, store: store, network: network, output: { progress("  " + $0) })
                        run.limits = runLimits
                        result = try run.run(argv: argv, lowers: try store.unpackedLayers(baseLayers + layers),
                                             hostBinds: hostBinds, config: step.config, fail: fail)
                        cache.record(key, result)
                        if case .layer(let layer) = result { progress("  \(layer.summary)") } else { progress("  no files changed") }
                    }
                    var resultText = "empty"
                    if case .layer(let layer) = result {
                        layers.append(layer)
                        resultText = layer.digest.description
                    }
                    stateDigest = BuildCache.key(key.description, resultText)
                }
            }
            return try store.publishBuilt(tag, BuiltImage(base: base, layers: layers, config: plan.steps.last?.config ?? config))
        }
    }
}

extension BuiltImage.Base {
    fileprivate var digestNote: String {
        switch self {
        case .none: return ""
        case .artifact(let artifact): return " (\(artifact.digest))"
        case .host: return " (not reproducible: the host's /usr, /bin, /lib* and part of /etc)"
        }
    }
}

extension Descriptor {
    fileprivate var summary: String { "layer \(digest) (\(size) bytes)" }
}
