import BatonOS
import Glibc

/// Advisory locks (flock) between Baton processes sharing a store. The kernel drops them when a
/// process dies, so `kill -9` never leaves the store locked.
///
/// Two locks: the *index lock* (exclusive, on `store/`) serialises changes to `index.json`; the
/// *ingest lock* (on `store/ingest/`) is held shared by every writer from its first blob to its
/// index update and exclusively by `gc`, so gc never deletes a blob a writer is about to name.
enum StoreLock {
    static func withIndexLock<T>(_ layout: StoreLayout, _ body: () throws -> T) throws -> T {
        try with(layout.store, LOCK_EX, body)
    }

    static func withWriterLock<T>(_ layout: StoreLayout, _ body: () throws -> T) throws -> T {
        try with(layout.ingest, LOCK_SH, body)
    }

    /// Takes the writer lock (shared) for a writer that spans many calls (a blob received in
    /// pieces); closing the returned descriptor releases it.
    static func holdWriterLock(_ layout: StoreLayout) throws -> Int32 {
        let fd = try FileIO.open(layout.ingest, O_RDONLY | O_DIRECTORY)
        do {
            try sys("flock \(layout.ingest)") { flock(fd, LOCK_SH) }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    static func withCollectorLock<T>(_ layout: StoreLayout, _ body: () throws -> T) throws -> T {
        try with(layout.ingest, LOCK_EX, body)
    }

    private static func with<T>(_ path: String, _ operation: Int32, _ body: () throws -> T) throws -> T {
        let fd = try FileIO.open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try sys("flock \(path)") { flock(fd, operation) }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }
}
