import BatonControl
import BatonOS

/// What `apply` would do to converge the daemon's apps to a file: removals first (they free
/// host names), then updates (hosts, volumes, strategy, proxy settings; an upstream app's settings), creations and swaps (a new
/// digest, a new configuration, or both in one swap). Pure: computed from the resolved file and
/// the daemon's `app ls`, so it is the same whether printed by --dry-run or carried out.
public struct ApplyPlan: Sendable, Equatable {
    public var steps: [ApplyStep]

    public init(steps: [ApplyStep]) {
        self.steps = steps
    }

    /// Steps that change something.
    public var changes: [ApplyStep] { steps.filter { $0.action != .unchanged } }

    /// Refuses, naming the place in the file, what the daemon would refuse half way: an app
    /// changing kind, or a host kept by an app that stays outside the file.
    public static func make(desired: [ResolvedApp], current: [AppInfo], prune: Bool) throws(BatonError) -> ApplyPlan {
        let currentByName = Dictionary(current.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let declaredNames = Set(desired.map(\.declared.name))
        let kept = current.filter { !declaredNames.contains($0.name) }
        var removes: [ApplyStep] = [], updates: [ApplyStep] = [], creates: [ApplyStep] = [], swaps: [ApplyStep] = []
        var unchanged: [ApplyStep] = []
        if prune {
            removes = kept.map { ApplyStep(.remove, app: $0.name, fromDigest: $0.digest) }
        } else {
            let hostOwners = Dictionary(kept.flatMap { app in app.hosts.map { ($0, app.name) } }, uniquingKeysWith: { first, _ in first })
            for app in desired {
                for host in app.declared.spec.hosts {
                    if let owner = hostOwners[host] {
                        throw BatonError(.conflict,
                            "\(app.declared.location): app \(app.declared.name): host \(host) is used by app \(owner), which the file does not declare: remove it, or apply with --prune")
                    }
                }
            }
        }
        for app in desired {
            let spec = app.declared.spec
            guard let existing = currentByName[spec.name] else {
                creates.append(ApplyStep(.create, app: spec.name, artifact: app.declared.artifact, toDigest: app.digest, spec: spec))
                continue
            }
            let kind = spec.kind
            guard existing.kind == kind else {
                throw BatonError(.conflict,
                    "\(app.declared.location): app \(spec.name) is of kind '\(existing.kind.rawValue)' on the daemon and '\(kind.rawValue)' in the file: remove it first with 'baton app rm \(spec.name)'")
            }
            let changed = SettingsDiff.changes(spec, existing, secretValuesChanged: app.secretValuesChanged)
            // A sandbox app's configuration is a new version swapped in (with its new digest, if
            // any, in the same swap); only its hosts are updated in place.
            let inPlace = kind == .upstream ? changed : changed.filter(SettingsDiff.appSettings.contains)
            var swapped = changed.filter { !inPlace.contains($0) }
            if !inPlace.isEmpty {
                updates.append(ApplyStep(.update, app: spec.name, changes: inPlace, spec: spec))
            }
            // A running sandbox keeps the volumes it started with: a swap, through the same
            // health gate, is how new ones reach the app.
            if inPlace.contains("volumes") && existing.digest != nil { swapped.append("volumes") }
            // Likewise a new count of replicas: the swap starts that many.
            if inPlace.contains("replicas") && existing.digest != nil { swapped.append("replicas") }
            if let digest = app.digest, digest != existing.digest || !swapped.isEmpty {
                swaps.append(ApplyStep(.swap, app: spec.name, artifact: app.declared.artifact, fromDigest: existing.digest, toDigest: digest,
                                       changes: swapped, spec: spec))
            } else if changed.isEmpty {
                unchanged.append(ApplyStep(.unchanged, app: spec.name, fromDigest: existing.digest, toDigest: existing.digest))
            }
        }
        return ApplyPlan(steps: removes + updates + creates + swaps + unchanged)
    }
}

/// Which stored settings differ from a declared spec, by their key in the file.
enum SettingsDiff {
    /// The app's own settings, outside its configuration versions (where its traffic goes, its
    /// volumes, its strategy, how the proxy serves it): changed in place. Volumes reach a
    /// sandbox only when it starts, so a change of them also swaps (to the same bytes when the
    /// digest stays).
    static let appSettings: Set<String> = ["hosts", "upstream", "volumes", "strategy", "hold", "https-redirect", "hsts", "protocol", "drain-long", "smoke",
                                                 "bake", "bake-max-5xx", "bake-max-p99", "replicas"]

    /// The daemon reports secret names only; whether a value changed it tells `apply` apart
    /// (`secretValuesChanged`).
    static func changes(_ spec: AppSpec, _ app: AppInfo, secretValuesChanged: Bool = false) -> [String] {
        var changed: [String] = []
        if Set(spec.hosts) != Set(app.hosts) { changed.append("hosts") }
        if spec.upstream != app.upstream { changed.append("upstream") }
        changed += AppConfig(spec).changes(from: AppConfig(app), comparingSecretValues: false)
        if secretValuesChanged && !changed.contains("secrets") { changed.append("secrets") }
        if spec.volumes != app.volumes { changed.append("volumes") }
        if (spec.strategy ?? .blueGreen) != app.strategy { changed.append("strategy") }
        if (spec.holdTimeout ?? AppSpec.defaultHoldTimeout) != app.holdTimeout { changed.append("hold") }
        let proxy = spec.storedProxySettings
        if proxy.httpsRedirect != app.httpsRedirect { changed.append("https-redirect") }
        if proxy.hsts != app.hsts { changed.append("hsts") }
        if proxy.upstreamProtocol != app.upstreamProtocol { changed.append("protocol") }
        if spec.drainLongTimeout != app.drainLongTimeout { changed.append("drain-long") }
        if (spec.smoke ?? []) != app.smoke { changed.append("smoke") }
        // Bake (part 3).
        let bake = spec.storedBakeSettings
        if bake.seconds != app.bakeSeconds { changed.append("bake") }
        if bake.maxServerErrorPercent != app.bakeMaxServerErrorPercent { changed.append("bake-max-5xx") }
        if bake.maxP99Factor != app.bakeMaxP99Factor { changed.append("bake-max-p99") }
        if spec.upstream == nil && spec.storedReplicas != app.replicas { changed.append("replicas") }
        return changed
    }
}
