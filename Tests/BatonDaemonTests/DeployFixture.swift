import Foundation
import Glibc

/// A root with a busybox base artifact and small site artifacts (`site:N` serves "vN" from
/// busybox httpd on port 8000, /health answers ok, /cgi-bin/slow takes 2 s), a daemon on
/// 127.0.0.1 and a sandbox app `web` (host web.test). `finish()` removes the app (which stops
/// its sandboxes), stops the daemon and checks nothing of the app is left.
final class DeployFixture {
    let root: String
    let daemon: DaemonProcess
    /// The control socket when the daemon was given `--socket`; every command then names it.
    let socket: String?
    static let host = "web.test"

    /// `daemonArguments` are added to the daemon's command line (`--log-max 8192`, say);
    /// `appFlags` go to `app create web` (`--volume …`, `--strategy …`).
    /// `environment` is added to the daemon's (a fault to inject, say).
    init(daemonArguments: [String] = [], appFlags: [String] = [], accessLog: Bool = false,
         environment: [String: String] = [:]) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("baton-deploy-\(UUID().uuidString.prefix(8))").path
        socket = daemonArguments.firstIndex(of: "--socket").map { daemonArguments[$0 + 1] }
        try Self.publishBase(root: root)
        daemon = try DaemonProcess(root: root, extra: daemonArguments, environment: environment, accessLog: accessLog)
        try Self.baton(["app", "create", "web", "--host", Self.host] + appFlags, root: root, socket: socket)
    }

    /// Publishes `base:1` (busybox and a few applets) into the store under `root`.
    static func publishBase(root: String) throws {
        try FileManager.default.createDirectory(atPath: root + "/src/base/bin", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: root + "/src/base/bin/busybox")
        for applet in ["sh", "sleep", "cat", "echo", "printf", "httpd"] {
            try FileManager.default.createSymbolicLink(atPath: "\(root)/src/base/bin/\(applet)", withDestinationPath: "busybox")
        }
        try baton(["artifact", "publish", "base:1", root + "/src/base"], root: root)
    }

    /// Publishes `site:VERSION` answering "vVERSION"; `command` replaces the httpd start.
    func publishSite(_ version: String, command: String? = nil, healthPath: String = "/health") throws {
        try Self.publishSite(version, command: command, healthPath: healthPath, root: root)
    }

    static func publishSite(_ version: String, command: String? = nil, healthPath: String = "/health", root: String) throws {
        let source = "\(root)/src/site\(version)"
        try FileManager.default.createDirectory(atPath: source + "/www/cgi-bin", withIntermediateDirectories: true)
        try "v\(version)\n".write(toFile: source + "/www/index.html", atomically: true, encoding: .utf8)
        try "ok\n".write(toFile: source + "/www/health", atomically: true, encoding: .utf8)
        let slow = source + "/www/cgi-bin/slow"
        try "#!/bin/sh\nsleep 2\nprintf 'Content-Type: text/plain\\r\\n\\r\\nslow-v\(version)\\n'\n".write(toFile: slow, atomically: true, encoding: .utf8)
        chmod(slow, 0o755)
        try baton(["artifact", "publish", "site:\(version)", source, "--base", "base:1", "--port", "8000", "--health-path", healthPath,
                   "--cmd", command ?? "/bin/busybox httpd -f -p 8000 -h /www"], root: root)
    }

    /// `baton ARGS`, run as `prefix` says (e.g. setpriv as another user).
    @discardableResult
    func baton(_ arguments: [String], allowFailure: Bool = false, prefix: [String] = []) throws -> BatonExecutable.Result {
        do {
            return try Self.baton(arguments, root: root, socket: socket, allowFailure: allowFailure, prefix: prefix)
        } catch let error as DaemonProcessError {
            // What the daemon (and any successor, which writes to the same log) said last.
            throw DaemonProcessError(error.description + "\nthe daemon's log ends with:\n" + daemon.logTail())
        }
    }

    @discardableResult
    static func baton(_ arguments: [String], root: String, socket: String? = nil, allowFailure: Bool = false,
                      prefix: [String] = []) throws -> BatonExecutable.Result {
        // --root goes before any "--": what follows that is the program's.
        var arguments = arguments
        let global = ["--root", root] + (socket.map { ["--socket", $0] } ?? [])
        arguments.insert(contentsOf: global, at: arguments.firstIndex(of: "--") ?? arguments.count)
        let result = try BatonExecutable.run(arguments, prefix: prefix)
        if !allowFailure && result.status != 0 {
            throw DaemonProcessError("baton \(arguments.joined(separator: " ")) failed (\(result.status)): \(result.stderr)")
        }
        return result
    }

    /// The sandbox serving the app now: its id and its init's pid.
    func servingSandbox() throws -> (id: String, pid: Int) {
        let ps = try baton(["ps", "--json"])
        let running = try JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [[String: Any]] ?? []
        guard let box = running.first(where: { $0["serving"] as? Bool == true }), let id = box["id"] as? String, let pid = box["pid"] as? Int else {
            throw DaemonProcessError("nothing serves web: \(ps.stdout)")
        }
        return (id, pid)
    }

    /// GET through the daemon's proxy: (status, body), or nil when the connection failed.
    func get(_ path: String = "/") -> (status: Int, body: String)? {
        HTTPGet.fetch(port: daemon.port, host: Self.host, path: path)
    }

    func finish() {
        // Every app, previews included: removing one stops its sandboxes and their cgroups.
        if let list = try? baton(["app", "ls", "--json"], allowFailure: true),
           let apps = try? JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]] {
            for name in apps.compactMap({ $0["name"] as? String }) {
                _ = try? baton(["app", "rm", name], allowFailure: true)
            }
        }
        daemon.stop()
        let left = ((try? FileManager.default.contentsOfDirectory(atPath: root + "/sandboxes")) ?? [])
        // Anything still running is killed so one failed test cannot leak into the next.
        for id in left {
            if let record = try? Data(contentsOf: URL(fileURLWithPath: "\(root)/sandboxes/\(id)/sandbox.json")),
               let object = try? JSONSerialization.jsonObject(with: record) as? [String: Any],
               let initProcess = object["init_process"] as? [String: Any], let pid = initProcess["pid"] as? Int {
                kill(Int32(pid), SIGKILL)
                for _ in 0..<200 where kill(Int32(pid), 0) == 0 { usleep(10_000) }
            }
            for controller in ["memory", "pids", "cpu", "unified"] {
                rmdir("/sys/fs/cgroup/\(controller)/baton/\(id)")
            }
        }
        TestNetwork.remove(root: root)
        try? FileManager.default.removeItem(atPath: root)
    }
}

/// One HTTP/1.1 GET through `RawHTTP`, with a chunked body decoded.
enum HTTPGet {
    static func fetch(port: Int, host: String, path: String, timeout: Int = 30) -> (status: Int, body: String)? {
        let request = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n"
        guard let text = try? RawHTTP.exchange(port: port, request, timeout: timeout) else { return nil }
        guard let head = text.range(of: "\r\n\r\n"), let status = Int(text.split(separator: " ").dropFirst().first ?? "") else { return nil }
        let body = String(text[head.upperBound...])
        let chunked = text[..<head.lowerBound].lowercased().contains("transfer-encoding: chunked")
        return (status, chunked ? dechunk(body) : body)
    }

    /// The payload of a chunked body (sizes in hex, each chunk followed by CRLF).
    static func dechunk(_ body: String) -> String {
        var rest = Substring(body)
        var payload = ""
        while let line = rest.range(of: "\r\n"), let size = Int(rest[..<line.lowerBound], radix: 16), size > 0 {
            let start = line.upperBound
            let end = rest.utf8.index(start, offsetBy: size)
            payload += rest[start..<end]
            rest = rest[end...].dropFirst(2)
        }
        return payload
    }
}
