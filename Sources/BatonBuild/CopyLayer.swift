import BatonOS
import BatonStore
import Glibc

/// The layer of one COPY step: the sources' files at their destination, and the destination's
/// missing parents. Parents the image already has keep their permission bits, and a parent
/// that is a symlink in the image (`/bin -> usr/bin`) is followed, as a Dockerfile build does.
struct CopyLayer {
    enum Entry {
        case directory(permissions: UInt32)
        case file(source: String, permissions: UInt32?)
        case symlink(target: String)
    }

    let context: BuildContext
    /// The image so far: unpacked layer directories, top first.
    let lowers: ImageTree
    private(set) var entries: [String: Entry] = [:]

    init(context: BuildContext, lowers: ImageTree) {
        self.context = context
        self.lowers = lowers
    }

    /// Adds `sources` copied to `destination` (absolute); a problem is a message for the step.
    mutating func add(sources: [String], destination: String, destinationIsDirectory: Bool, chmod: UInt32?) throws(BuildContext.Problem) {
        for source in sources {
            let host = try context.resolve(source)
            var info = stat()
            guard lstat(host, &info) == 0 else { throw .init("cannot read \(source): \(String(cString: strerror(errno)))") }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                let target = lowers.resolve(destination, followLast: true)
                let permissions = chmod ?? lowers.directoryPermissions(target) ?? UInt32(info.st_mode) & 0o7777
                try addParents(of: target)
                if !target.isEmpty { entries[target] = .directory(permissions: permissions) }
                try addTree(host, at: target, chmod: chmod, source: source)
            case S_IFREG:
                // As in a Dockerfile, a destination the image has as a directory takes the
                // file inside it, trailing '/' or not.
                let existing = lowers.resolve(destination, followLast: true)
                let intoDirectory = destinationIsDirectory || existing.isEmpty || lowers.directoryPermissions(existing) != nil
                let target = intoDirectory ? existing : lowers.resolve(destination, followLast: false)
                let name = PathName.lastComponent(of: host)
                let path = intoDirectory ? (target.isEmpty ? name : target + "/" + name) : target
                guard !path.isEmpty else { throw .init("COPY of a file needs a file name or a directory ending in '/' as destination") }
                try addParents(of: path)
                entries[path] = .file(source: host, permissions: chmod)
            default:
                throw .init("\(source) is a socket, FIFO or device node, which cannot be copied")
            }
        }
    }

    private mutating func addParents(of path: String) throws(BuildContext.Problem) {
        var prefix = ""
        for component in path.split(separator: "/").dropLast() {
            prefix = prefix.isEmpty ? String(component) : prefix + "/" + component
            if entries[prefix] == nil { entries[prefix] = .directory(permissions: lowers.directoryPermissions(prefix) ?? 0o755) }
        }
    }

    private mutating func addTree(_ directory: String, at prefix: String, chmod: UInt32?, source: String) throws(BuildContext.Problem) {
        let names: [String]
        do { names = try DirectoryListing.names(directory) } catch { throw .init("cannot list \(directory): \(error.description)") }
        for name in names {
            let path = directory + "/" + name
            let archivePath = prefix.isEmpty ? name : prefix + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else { throw .init("cannot read \(path): \(String(cString: strerror(errno)))") }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                // A directory the image has as a symlink (`lib -> usr/lib`) is followed, not
                // replaced: its files land where the link points.
                let target = lowers.resolve("/" + archivePath, followLast: true)
                if target != archivePath {
                    try addParents(of: target)
                    if !target.isEmpty && entries[target] == nil && lowers.directoryPermissions(target) == nil {
                        entries[target] = .directory(permissions: chmod ?? UInt32(info.st_mode) & 0o7777)
                    }
                    try addTree(path, at: target, chmod: chmod, source: source)
                    continue
                }
                entries[archivePath] = .directory(permissions: chmod ?? UInt32(info.st_mode) & 0o7777)
                try addTree(path, at: archivePath, chmod: chmod, source: source)
            case S_IFREG:
                entries[archivePath] = .file(source: path, permissions: chmod)
            case S_IFLNK:
                guard let target = try? PathName.readLink(path) else { throw .init("cannot read the symlink \(path)") }
                entries[archivePath] = .symlink(target: target)
            default:
                throw .init("\(path) is a socket, FIFO or device node, which cannot be copied")
            }
        }
    }

    /// Writes the entries, in byte order of their paths, as one layer in `store`.
    func write(to store: ArtifactStore) throws -> Descriptor {
        let builder = try store.layerBuilder()
        for path in entries.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            switch entries[path]! {
            case .directory(let permissions): try builder.addDirectory(path, permissions: permissions)
            case .file(let source, let permissions): try builder.addFile(path, from: source, permissions: permissions)
            case .symlink(let target): try builder.addSymlink(path, target: target)
            }
        }
        return try builder.commit()
    }
}

/// The image's files so far, read from its unpacked layers (top first) as the overlay would
/// show them, for the few questions a build asks before it writes a layer.
struct ImageTree {
    let layers: [String]

    private enum Found { case missing, directory(UInt32), symlink(String), other }

    private func lookup(_ path: String) -> Found {
        for layer in layers {
            var info = stat()
            guard lstat(layer + "/" + path, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFCHR where info.st_rdev == 0: return .missing
            case S_IFDIR: return .directory(UInt32(info.st_mode) & 0o7777)
            case S_IFLNK: return (try? PathName.readLink(layer + "/" + path)).map { .symlink($0) } ?? .other
            default: return .other
            }
        }
        return .missing
    }

    /// The permission bits of the directory at `path` (relative), or nil if it is none.
    func directoryPermissions(_ path: String) -> UInt32? {
        if case .directory(let bits) = lookup(path) { return bits }
        return nil
    }

    /// Whether anything is at `path` (relative, no symlinks on the way).
    func exists(_ path: String) -> Bool {
        if case .missing = lookup(path) { return false }
        return true
    }

    /// `path` (absolute) relative to the image root, its parents' symlinks followed inside
    /// the image (an absolute target from the image root); the last component is followed
    /// only when `followLast` (a destination directory).
    func resolve(_ path: String, followLast: Bool) -> String {
        var pending = path.split(separator: "/").map(String.init)[...]
        var resolved: [String] = []
        var hops = 0
        while let component = pending.popFirst() {
            if component == "." { continue }
            if component == ".." { if !resolved.isEmpty { resolved.removeLast() }; continue }
            let candidate = (resolved + [component]).joined(separator: "/")
            if !pending.isEmpty || followLast, case .symlink(let target) = lookup(candidate), hops < 40 {
                hops += 1
                if target.hasPrefix("/") { resolved = [] }
                pending = target.split(separator: "/").map(String.init)[...] + pending
                continue
            }
            resolved.append(component)
        }
        return resolved.joined(separator: "/")
    }
}
