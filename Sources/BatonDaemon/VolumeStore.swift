import BatonControl
import BatonOS
import BatonSandbox
import Glibc
import Synchronization

/// The apps' volumes on disk: `<root>/volumes/APP/NAME`, and `<root>/volumes/shared/NAME` for
/// shared ones. Each volume directory is 0700 and owned by the ids the app's program runs as
/// when it is made (the first time a sandbox binds it), so the app can write it and no other
/// user of the host can; `volumes/` and `volumes/APP` are root's, 0700.
///
/// A volume is removed only when no running sandbox binds it: a launch claims its volumes
/// from before their directories are made until its sandbox is on record, and a removal
/// checks the claims and the records under the same lock.
final class VolumeStore: Sendable {
    let directory: String
    /// Launches under way, by volume key, whose sandboxes are not on record yet.
    private let claims = Mutex<[String: Int]>([:])

    init(root: String) {
        directory = root + "/volumes"
    }

    /// "APP/NAME" or "shared/NAME": the volume's place under `volumes/`, and its key.
    static func key(app: String, volume: AppVolume) -> String {
        volume.owner(app: app) + "/" + volume.name
    }

    func path(of key: String) -> String { directory + "/" + key }

    /// The volumes of a sandbox being launched: made where missing (owned by `owner`) and
    /// claimed until `release`.
    struct Claim: Sendable {
        let keys: [String]
        let binds: [SandboxSpec.Bind]
    }

    func claim(_ app: AppInfo, owner: (uid: UInt32, gid: UInt32)) throws -> Claim {
        let keys = app.volumes.map { Self.key(app: app.name, volume: $0) }
        claims.withLock { claims in
            for key in keys { claims[key, default: 0] += 1 }
        }
        do {
            var binds: [SandboxSpec.Bind] = []
            for (key, volume) in zip(keys, app.volumes) {
                binds.append(SandboxSpec.Bind(source: try make(key, owner: owner), target: volume.path, readOnly: volume.readOnly))
            }
            return Claim(keys: keys, binds: binds)
        } catch {
            release(keys)
            throw error
        }
    }

    /// Ends a claim: the sandbox is on record now, or was never launched.
    func release(_ claim: Claim) {
        release(claim.keys)
    }

    private func release(_ keys: [String]) {
        claims.withLock { claims in
            for key in keys {
                claims[key, default: 1] -= 1
                if claims[key] == 0 { claims[key] = nil }
            }
        }
    }

    /// Every volume on disk; `inUse` maps the keys running sandboxes bind to one of them.
    func list(inUse: [String: String]) -> [VolumeInfo] {
        let claimed = claims.withLock { Set($0.keys) }
        var volumes: [VolumeInfo] = []
        for owner in (try? DirectoryListing.names(directory)) ?? [] {
            for name in (try? DirectoryListing.names(directory + "/" + owner)) ?? [] {
                let key = owner + "/" + name
                guard isVolumeDirectory(path(of: key)) else { continue }
                volumes.append(VolumeInfo(app: owner, name: name, path: path(of: key), size: (try? DirectoryTree.size(path(of: key))) ?? 0,
                                          inUse: inUse[key] != nil || claimed.contains(key)))
            }
        }
        return volumes
    }

    /// Removes the volumes under `keys` with their files, none of which may be in use:
    /// `inUse` is read under the claims lock, so no launch can bind one meanwhile. Throws
    /// `.conflict` naming a sandbox that binds one, and removes nothing then.
    func remove(_ keys: [String], inUse: () throws -> [String: String]) throws {
        try claims.withLock { claims in
            let used = try inUse()
            for key in keys {
                if let sandbox = used[key] {
                    throw BatonError(.conflict, "volume \(key) is in use by sandbox \(sandbox): stop it first with 'baton stop \(sandbox)', or remove its app")
                }
                if claims[key] != nil {
                    throw BatonError(.conflict, "volume \(key) is being bound by a sandbox that is starting: try again once the deploy is done")
                }
            }
            for key in keys {
                do {
                    try DirectoryTree.remove(path(of: key))
                } catch {
                    throw BatonError(.internal, "cannot remove volume \(key): \(error)", cause: error)
                }
                // The owner's directory goes with its last volume.
                rmdir(path(of: PathName.parent(of: key)))
            }
        }
    }

    func exists(_ key: String) -> Bool { isVolumeDirectory(path(of: key)) }

    /// The keys of the volumes on disk that belong to `app` itself (not the shared ones).
    func keys(ofApp app: String) -> [String] {
        ((try? DirectoryListing.names(directory + "/" + app)) ?? []).map { app + "/" + $0 }.filter(exists)
    }

    /// Makes `volumes/`, `volumes/OWNER` and the volume directory where missing; returns the
    /// volume's path. A volume made before keeps its owner and files.
    private func make(_ key: String, owner: (uid: UInt32, gid: UInt32)) throws -> String {
        let volume = path(of: key)
        do throws(OSError) {
            for parent in [directory, path(of: PathName.parent(of: key))] {
                if mkdir(parent, 0o700) != 0 && errno != EEXIST { throw OSError("mkdir \(parent)", errno: errno) }
            }
            if mkdir(volume, 0o700) == 0 {
                try sys("chown \(volume)") { lchown(volume, owner.uid, owner.gid) }
                try sys("chmod \(volume)") { chmod(volume, 0o700) }
            } else if errno != EEXIST {
                throw OSError("mkdir \(volume)", errno: errno)
            }
        } catch {
            throw BatonError(.setupFailed, "cannot make volume \(key): \(error.description)", cause: error)
        }
        guard isVolumeDirectory(volume) else {
            throw BatonError(.setupFailed, "cannot use volume \(key): \(volume) is not a directory")
        }
        return volume
    }

    /// A directory itself, not a symbolic link to one.
    private func isVolumeDirectory(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }
}
