import BatonControl
import BatonSandbox

/// The environment of an app's sandbox, later entries winning: the usual PATH, the artifact's
/// own variables, the app's, and last what Baton sets itself, so neither an artifact nor the
/// app's settings can make the app listen elsewhere than the proxy connects or hide who it is.
/// Secrets go beside it (`SandboxSpec.secretEnvironment`), never into what is written down.
enum AppEnvironment {
    static func variables(artifact: [String], app: AppInfo, port: Int, digest: String, sandbox: String) -> [String] {
        let baton = ["PORT=\(port)", "BATON_APP=\(app.name)", "BATON_DIGEST=\(digest)", "BATON_SANDBOX=\(sandbox)"]
        return SandboxSpec.merging(SandboxSpec.merging(SandboxSpec.merging(SandboxSpec.defaultEnvironment, artifact), app.env), baton)
    }
}
