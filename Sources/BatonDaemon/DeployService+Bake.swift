import BatonControl
import BatonDeploy
import BatonOS

/// Bake (part 3): a deploy's bake window, from the request.
extension DeployService {
    /// `lookup`, with the bake window `bake` asks for (its thresholds defaulted) in place of the app's.
    static func withBake(_ bake: BakeSettings?, _ lookup: @escaping SettingsLookup) -> SettingsLookup {
        guard let bake else { return lookup }
        return { digest, version in
            var settings = try lookup(digest, version)
            settings.bake = try policy(bake)
            return settings
        }
    }

    /// The policy `bake` describes; a bad value is an `invalidArgument` naming it.
    static func policy(_ bake: BakeSettings) throws -> BakePolicy {
        guard bake.seconds.isFinite, bake.seconds >= 0, bake.seconds <= BakeSettings.maxSeconds else {
            throw BatonError(.invalidArgument, "--bake must be 0-\(Int(BakeSettings.maxSeconds)) seconds")
        }
        return try BakePolicy(window: .milliseconds(Int64(bake.seconds * 1000)),
                              maxServerErrorPercent: bake.maxServerErrorPercent ?? BakePolicy.defaultMaxServerErrorPercent,
                              maxP99Factor: bake.maxP99Factor ?? BakePolicy.defaultMaxP99Factor).validated()
    }
}
