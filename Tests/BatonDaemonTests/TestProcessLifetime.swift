import BatonTestSupport
import BatonNetwork
import BatonOS
import Foundation
import Glibc

/// Ties what the tests start to the test process, so a crashed or killed run leaves nothing
/// running: every child process is started through `setpriv --pdeathsig KILL`, from one thread
/// that lives as long as the process (the kernel sends the parent-death signal when the thread
/// that started the child ends, not the process); and a reaper process, started once, kills
/// the sandboxes under every root the tests registered once the test process is gone, however
/// it ended. Sandboxes outlive their daemon on purpose (the next daemon adopts them), so the
/// daemon's own death cannot take them along.
enum TestProcessLifetime {
    /// `command`, to be run so that it dies with the test process.
    static func tied(_ command: [String]) -> [String] {
        ["/usr/bin/setpriv", "--pdeathsig", "KILL", "--"] + command
    }

    /// Starts `process` from the thread that lives as long as the test process.
    static func start(_ process: ChildProcess) throws {
        try spawner.run { try process.run() }
    }

    /// Makes the reaper kill whatever runs in `root`'s sandboxes once the test process ends,
    /// and remove the root, its bridge and firewall table (made on its first egress sandbox),
    /// its runtime directory under /run and its daemons' logs.
    static func register(root: String) {
        reaper.register(root, bridge: TestNetwork.bridge(root: root), runtime: RuntimeDirectory.path(root: root))
    }

    private static let spawner = Spawner()
    private static let reaper = Reaper(spawner: spawner)
}

/// One thread that runs closures handed to it, and never ends.
private final class Spawner: @unchecked Sendable {
    // `jobs` is touched only under `condition`.
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []

    init() {
        let thread = Thread { [self] in
            while true {
                condition.lock()
                while jobs.isEmpty { condition.wait() }
                let job = jobs.removeFirst()
                condition.unlock()
                job()
            }
        }
        thread.start()
    }

    /// Runs `body` on the spawner's thread and returns what it returns.
    func run<T>(_ body: @escaping () throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        var result: Result<T, any Error>?
        condition.lock()
        jobs.append {
            result = Result { try body() }
            done.signal()
        }
        condition.signal()
        condition.unlock()
        done.wait()
        return try result!.get()
    }
}

/// A shell that reads root paths on its stdin until end of file, which comes when the test
/// process is gone (it alone holds the other end, close-on-exec), then kills every process in
/// the cgroups of the sandboxes under those roots and removes the roots.
private final class Reaper: @unchecked Sendable {
    // `fd` is written under `lock`.
    private let lock = NSLock()
    private var fd: Int32 = -1
    private let spawner: Spawner

    init(spawner: Spawner) {
        self.spawner = spawner
    }

    static let script = #"""
        roots=$(cat)
        echo "$roots" | while IFS="$(printf '\t')" read -r root bridge runtime; do
          if [ -n "$bridge" ]; then
            ip link del "$bridge" 2>/dev/null
            nft delete table inet "baton_$(printf %s "$bridge" | tr -c 'a-zA-Z0-9' '_')" 2>/dev/null
            rm -f /run/baton-subnets/"$bridge"
          fi
          rm -f "$root"-daemon-*.log
          # A daemon started by a hand-off is not the test's child: the lock file names it.
          holder=$(cat "$root/daemon.lock" 2>/dev/null)
          [ -n "$holder" ] && grep -q baton-daemon "/proc/$holder/cmdline" 2>/dev/null && kill -9 "$holder"
          [ -d "$root/sandboxes" ] || { rm -rf "$runtime" "$root"; continue; }
          for sandbox in "$root"/sandboxes/*; do
            id=${sandbox##*/}
            for cgroup in /sys/fs/cgroup/baton/"$id" /sys/fs/cgroup/*/baton/"$id"; do
              [ -f "$cgroup/cgroup.procs" ] && xargs -r kill -9 < "$cgroup/cgroup.procs"
            done
            for cgroup in /sys/fs/cgroup/baton/"$id" /sys/fs/cgroup/*/baton/"$id"; do
              for _ in 1 2 3 4 5 6 7 8 9 10; do [ -d "$cgroup" ] || break; rmdir "$cgroup" 2>/dev/null || sleep 0.1; done
            done
          done
          # The tmpfs of the sandboxes' directories, mounted while they ran.
          umount -l "$root/sandboxes" 2>/dev/null
          rm -rf "$runtime" "$root"
        done
        """#

    func register(_ root: String, bridge: String, runtime: String) {
        lock.withLock {
            if fd < 0 { fd = start() }
            guard fd >= 0 else { return }
            let line = Array((root + "\t" + bridge + "\t" + runtime + "\n").utf8)
            _ = send(fd, line, line.count, Int32(MSG_NOSIGNAL))
        }
    }

    /// The write end of the reaper's stdin, or -1 when it cannot start (nothing is reaped then).
    private func start() -> Int32 {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else { return -1 }
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", Self.script]
        process.standardInput = FileHandle(fileDescriptor: pair[0], closeOnDealloc: true)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            // Not tied to the test process: it must outlive it.
            try spawner.run { try process.run() }
        } catch {
            close(pair[1])
            return -1
        }
        shutdown(pair[1], Int32(SHUT_RD))
        return pair[1]
    }
}

/// The host-wide network a test root's egress sandboxes made: the bridge, its firewall table
/// and its subnet's registration. Removed by the fixtures when they finish, and by the reaper
/// for a run that dies first.
enum TestNetwork {
    static func bridge(root: String) -> String {
        (try? String(contentsOfFile: root + "/network/settings", encoding: .utf8))?.split(separator: "\n").first.map(String.init)
            ?? NetworkSettings.defaultBridge(root: root)
    }

    static func remove(root: String) {
        let bridge = bridge(root: root)
        try? NetworkLinks.delete(bridge)
        try? NetworkLinks.nft("delete table inet baton_" + String(bridge.map { $0.isLetter || $0.isNumber ? $0 : "_" }))
        unlink("/run/baton-subnets/" + bridge)
        try? FileManager.default.removeItem(atPath: RuntimeDirectory.path(root: root))
        // The tmpfs of the sandboxes' directories, when a test's sandboxes outlived its daemon
        // (killed by the fixture since): mounted, it would keep the root from being removed.
        umount2(root + "/sandboxes", Int32(MNT_DETACH))
    }
}
