import BatonStore
import Foundation

/// Which repositories on which registry hosts Baton has seen hold a blob (it pushed or
/// pulled it there), kept in `$BATON_ROOT/registry-blobs.json`. Only a hint for a
/// cross-repository mount: the registry decides, and a wrong hint costs one request.
struct BlobSources {
    let path: String
    static let repositoriesPerBlob = 4
    static let blobsPerHost = 20_000

    init(root: String) { path = root + "/registry-blobs.json" }

    typealias Table = [String: [String: [String]]]

    func read() -> Table {
        guard let bytes = try? PrivateFile.read(path, limit: 16 << 20) else { return [:] }
        return (try? JSONDecoder().decode(Table.self, from: Data(bytes))) ?? [:]
    }

    /// Other repositories on `host` known to hold `digest`.
    func repositories(holding digest: Digest, on host: String, except repository: String, in table: Table) -> [String] {
        (table[host]?[digest.description] ?? []).filter { $0 != repository }
    }

    /// Records that `repository` on `host` holds `digests`. A failure to record is ignored:
    /// the transfer itself has succeeded.
    func record(_ digests: [Digest], host: String, repository: String) {
        var table = read()
        var blobs = table[host] ?? [:]
        for digest in digests {
            var repositories = blobs[digest.description] ?? []
            repositories.removeAll { $0 == repository }
            repositories.insert(repository, at: 0)
            blobs[digest.description] = Array(repositories.prefix(Self.repositoriesPerBlob))
        }
        if blobs.count > Self.blobsPerHost {
            for key in blobs.keys.sorted().prefix(blobs.count - Self.blobsPerHost) { blobs.removeValue(forKey: key) }
        }
        table[host] = blobs
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        if let data = try? encoder.encode(table) { try? PrivateFile.write(Array(data), to: path) }
    }
}
