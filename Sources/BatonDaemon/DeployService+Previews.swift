import BatonControl
import BatonOS
import BatonStore
import Foundation

/// Previews: sandbox apps made by one command at `NAME.<preview domain>`, with the artifact's
/// port and health path, deployed through the same health gate, optionally expiring.
extension DeployService {
    /// The longest TTL accepted: a year.
    static let maxPreviewTTL = 365.0 * 86400

    /// Creates the preview `name` serving `ref`, or swaps an existing one to `ref` and restarts
    /// its expiry. A failed health check is an outcome (in the deployment), not an error; a
    /// preview that has never served is removed again.
    func createPreview(_ request: PreviewRequest, domain: String) async throws -> PreviewCreation {
        let name = request.name
        guard AppValidation.isValidName(name) else {
            throw BatonError(.invalidArgument, "invalid preview name '\(name)': \(AppValidation.nameRule)")
        }
        if let ttl = request.ttl, !(ttl > 0 && ttl <= Self.maxPreviewTTL) {
            throw BatonError(.invalidArgument, "invalid --ttl \(ttl): use seconds between 0 and \(Int(Self.maxPreviewTTL))")
        }
        // An unknown artifact is refused before anything is created.
        _ = try ArtifactStore(root: root).resolve(request.ref)
        let host = "\(name).\(domain)"
        if try database.app(named: name) != nil {
            guard try database.preview(named: name) != nil else {
                throw BatonError(.conflict, "app \(name) exists and is not a preview: choose another preview name")
            }
            // No expiry while it swaps, so the reaper cannot remove it mid-deploy.
            try database.markPreview(name, expiresAt: nil)
            if let smoke = request.smoke { try database.setSmokeChecks(app: name, try SmokeCheck.parseAll(smoke).map(\.description)) }
        } else {
            // No port or health path: the deploy takes the artifact's.
            var spec = AppSpec(name: name, hosts: [host])
            spec.smoke = request.smoke
            _ = try await routing.service.createApp(spec, preview: true)
        }
        let deployment: DeploymentInfo
        do {
            deployment = try await deploy(app: name, ref: request.ref)
        } catch {
            try await removeIfNeverServed(name)
            throw error
        }
        if deployment.outcome == "succeeded" {
            try database.markPreview(name, expiresAt: request.ttl.map { Timestamp.string(Date().addingTimeInterval($0)) })
        } else {
            try await removeIfNeverServed(name)
        }
        return PreviewCreation(host: try database.app(named: name)?.hosts.first ?? host, deployment: deployment)
    }

    func previews() throws -> [PreviewInfo] {
        let now = Date()
        return try database.previews().compactMap { row in
            guard let app = try database.app(named: row.name) else { return nil }
            let serving = try database.servingSandbox(app: row.name)
            return PreviewInfo(
                name: row.name, host: app.hosts.first ?? "", artifact: serving?.artifact, digest: serving?.digest,
                createdAt: app.createdAt, ageSeconds: Timestamp.date(app.createdAt).map { now.timeIntervalSince($0) },
                expiresAt: row.expiresAt)
        }
    }

    /// Stops the preview's sandboxes and removes it.
    func removePreview(named name: String) async throws {
        guard try database.preview(named: name) != nil else {
            throw BatonError(.notFound, "no preview named \(name): see 'baton preview ls'")
        }
        try await removeSandboxes(of: name)
        try await routing.service.removeApp(named: name)
    }

    /// Removes every preview whose expiry has passed; failures are logged and retried next time.
    func removeExpiredPreviews(at now: Date = Date()) async {
        do {
            for name in try database.expiredPreviews(at: now) {
                // Checked again: a create may have restarted its expiry meanwhile.
                guard let row = try database.preview(named: name), let text = row.expiresAt,
                    let expiry = Timestamp.date(text), expiry <= Date()
                else { continue }
                logger.info("preview \(name) expired at \(text): removing it")
                try await removePreview(named: name)
            }
        } catch {
            logger.warning("cannot remove expired previews: \(error)")
        }
    }

    private func removeIfNeverServed(_ name: String) async throws {
        guard try database.preview(named: name) != nil, try database.servingSandbox(app: name) == nil else { return }
        try await removeSandboxes(of: name)
        try await routing.service.removeApp(named: name)
    }
}
