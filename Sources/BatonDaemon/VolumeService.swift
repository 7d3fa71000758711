import BatonControl
import BatonOS

/// `baton volume ls | rm` and `app rm --volumes` behind the control API.
struct VolumeService: Sendable {
    let database: StateDatabase
    let store: VolumeStore

    func list() async throws -> [VolumeInfo] {
        let inUse = try database.volumesInUse()
        return await DetachedThread.run { [store] in store.list(inUse: inUse) }
    }

    /// Removes one volume (`app` is `shared` for a shared one); refused while in use.
    func remove(app: String, name: String) async throws {
        guard app == AppVolume.sharedOwner || AppValidation.isValidName(app), AppValidation.isValidName(name) else {
            throw BatonError(.invalidArgument, "invalid volume '\(app) \(name)': name an app (or 'shared') and a volume, as 'baton volume ls' shows them")
        }
        let key = app + "/" + name
        guard store.exists(key) else {
            throw BatonError(.notFound, "no volume \(name) of \(app == AppVolume.sharedOwner ? "the shared volumes" : "app \(app)"): see 'baton volume ls'")
        }
        try await remove([key])
    }

    /// Removes `app`'s own volumes (its sandboxes are stopped by then); shared ones stay.
    func removeAll(ofApp app: String) async throws {
        try await remove(store.keys(ofApp: app))
    }

    private func remove(_ keys: [String]) async throws {
        let (database, store) = (database, store)
        // Off Swift's shared pool: a volume can hold many files.
        try await DetachedThread.run { try store.remove(keys, inUse: { try database.volumesInUse() }) }
    }
}
