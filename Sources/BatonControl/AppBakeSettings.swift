import BatonOS

/// Bake (part 3): an app's bake window (`app create/set --bake S --bake-max-5xx PCT
/// --bake-max-p99 Nx`, apply keys `bake`, `bake-max-5xx`, `bake-max-p99`), an app setting
/// like the strategy: stored in place, used from the next deploy.
extension AppSpec {
    /// The spec's bake settings, or the defaults (no window, 1%, 2x) where it leaves one out.
    public var storedBakeSettings: BakeSettings {
        BakeSettings(seconds: bakeSeconds ?? 0, maxServerErrorPercent: bakeMaxServerErrorPercent ?? BakeSettings.defaultMaxServerErrorPercent,
                     maxP99Factor: bakeMaxP99Factor ?? BakeSettings.defaultMaxP99Factor)
    }

    /// Takes the bake settings `app` has now, for a spec that replaces its settings whole.
    public mutating func keepBakeSettings(of app: AppInfo) {
        bakeSeconds = app.bakeSeconds
        bakeMaxServerErrorPercent = app.bakeMaxServerErrorPercent
        bakeMaxP99Factor = app.bakeMaxP99Factor
    }
}

extension AppInfo {
    /// The app's bake window as a deploy uses it; nil when it has none.
    public var bakeSettings: BakeSettings? {
        bakeSeconds > 0 ? BakeSettings(seconds: bakeSeconds, maxServerErrorPercent: bakeMaxServerErrorPercent, maxP99Factor: bakeMaxP99Factor) : nil
    }
}

extension BakeSettings {
    /// Why these settings are refused, or nil: 0-600 s, 0-100 %, 1-1000x.
    public var problem: String? {
        if !seconds.isFinite || seconds < 0 || seconds > Self.maxSeconds {
            return "bake window must be 0-\(Int(Self.maxSeconds)) seconds"
        }
        if let percent = maxServerErrorPercent, !percent.isFinite || percent < 0 || percent > 100 {
            return "bake 5xx limit must be 0-100 percent"
        }
        if let factor = maxP99Factor, !factor.isFinite || factor < 1 || factor > 1000 {
            return "bake p99 limit must be 1-1000 times the old sandbox's"
        }
        return nil
    }
}

extension AppValidation {
    static func validateBakeSettings(_ spec: AppSpec) throws(BatonError) {
        if let problem = spec.storedBakeSettings.problem {
            throw BatonError(.invalidArgument, "app \(spec.name): \(problem)")
        }
    }
}
