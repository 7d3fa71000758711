import BatonOS
import Glibc

/// Which artifacts may have host directories bound into their sandboxes, and which ones.
///
/// An artifact's config can say anything (an imported image may carry an
/// `org.baton.host-binds` label naming `/`, `/etc` or the state root), so the config is never
/// read for this. Only `baton artifact publish --base host` on this host grants binds: it writes
/// `<root>/host-binds/<manifest hex>` (0600, in the 0700 root) listing them, and an artifact
/// published on top of a granted one inherits its grant. Every listed path must be one of
/// `HostDirectories.bindable`, spelled exactly; anything else in a grant refuses the run.
struct HostBindGrants {
    let layout: StoreLayout

    var directory: String { layout.root + "/host-binds" }

    func path(_ digest: Digest) -> String { "\(directory)/\(digest.hex)" }

    /// The binds granted to the artifact `digest`, lowest first; empty without a grant.
    func binds(of digest: Digest) throws -> [String] {
        let file = path(digest)
        guard FileIO.exists(file) else { return [] }
        let text = String(decoding: try FileIO.readAll(file, limit: 4096), as: UTF8.self)
        let binds = text.split(separator: "\n").map(String.init)
        for bind in binds where !HostDirectories.bindable.contains(bind) {
            throw BatonError(.corrupt, "\(file) grants host path '\(bind)', which is not one of \(HostDirectories.bindable.sorted().joined(separator: ", ")); remove the file")
        }
        return binds
    }

    /// Records that `digest` may bind `binds` (a subset of `allowed`). Written before the
    /// artifact's name is bound, so a named artifact never lacks its grant.
    func grant(_ binds: [String], to digest: Digest) throws {
        for bind in binds where !HostDirectories.bindable.contains(bind) {
            throw BatonError(.internal, "host bind '\(bind)' is not one Baton grants")
        }
        try FileIO.makeDirectories(directory)
        try FileIO.writeAtomically(Array((binds.joinedPlain(separator: "\n") + "\n").utf8), to: path(digest))
    }

    /// Removes the grants of artifacts no longer in the store.
    func prune(keeping reachable: Set<Digest>) {
        for hex in FileIO.listDirectory(directory) {
            if let digest = Digest("sha256:" + hex), reachable.contains(digest) { continue }
            unlink("\(directory)/\(hex)")
        }
    }
}
