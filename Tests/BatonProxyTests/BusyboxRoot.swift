import Foundation

/// A minimal busybox root for sandbox-backed proxy tests: /bin/busybox and a page at
/// /www/index.html. Each test builds its own and removes it in `defer`.
struct BusyboxRoot {
    let path: String
    static let page = "hello from the sandbox\n"

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("baton-proxy-rootfs-\(UUID().uuidString.prefix(8))").path
        let files = FileManager.default
        for directory in ["bin", "www", "etc", "tmp"] {
            try files.createDirectory(atPath: "\(path)/\(directory)", withIntermediateDirectories: true)
        }
        try files.copyItem(atPath: "/bin/busybox", toPath: path + "/bin/busybox")
        try files.createSymbolicLink(atPath: path + "/bin/sh", withDestinationPath: "busybox")
        try Self.page.write(toFile: path + "/www/index.html", atomically: true, encoding: .utf8)
        try "root:x:0:0:root:/:/bin/sh\n".write(toFile: path + "/etc/passwd", atomically: true, encoding: .utf8)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
