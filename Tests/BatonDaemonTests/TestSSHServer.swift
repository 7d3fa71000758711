import BatonTestSupport
import Foundation
import Glibc

/// Debian's OpenSSH server on 127.0.0.1 (a free port), with its own host key, a client key
/// allowed for root, a known_hosts file and an ssh config for the client, all in `directory`:
/// nothing reads or changes root's own ~/.ssh or /etc/ssh. Sessions run with `binDirectory`
/// first on PATH (sshd's `SetEnv`), so the `baton` the remote side runs is the one the test
/// puts there: a link to the built executable, or a fake. Dies with the test process.
final class TestSSHServer {
    let directory: String
    let port: Int
    let server = ChildProcess()
    var binDirectory: String { directory + "/bin" }

    /// `defaultRoot`: the remote sessions' `BATON_ROOT`, as a host that keeps its root
    /// elsewhere than /var/lib/baton would set it; nil leaves Baton's default.
    init(defaultRoot: String? = nil) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-sshd-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory + "/bin", withIntermediateDirectories: true)
        chmod(directory, 0o700)
        port = try ReservedPort.released()
        for key in ["host_key", "client_key", "other_key"] {
            try Self.run(["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "baton-test", "-f", "\(directory)/\(key)"])
        }
        try FileManager.default.copyItem(atPath: "\(directory)/client_key.pub", toPath: "\(directory)/authorized_keys")
        let hostKey = try String(contentsOfFile: "\(directory)/host_key.pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        try "[127.0.0.1]:\(port) \(hostKey)\n".write(toFile: "\(directory)/known_hosts", atomically: true, encoding: .utf8)
        try """
            ListenAddress 127.0.0.1:\(port)
            HostKey \(directory)/host_key
            PidFile none
            AuthorizedKeysFile \(directory)/authorized_keys
            StrictModes no
            UsePAM no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PermitRootLogin prohibit-password
            SetEnv PATH=\(directory)/bin:/usr/bin:/bin\(defaultRoot.map { " BATON_ROOT=\($0)" } ?? "")
            LogLevel VERBOSE

            """.write(toFile: "\(directory)/sshd_config", atomically: true, encoding: .utf8)
        for (name, key) in [("ssh_config", "client_key"), ("ssh_config_other_key", "other_key")] {
            try """
                Host *
                  User root
                  IdentityFile \(directory)/\(key)
                  IdentitiesOnly yes
                  UserKnownHostsFile \(directory)/known_hosts
                  GlobalKnownHostsFile /dev/null
                  StrictHostKeyChecking yes
                  BatchMode yes

                """.write(toFile: "\(directory)/\(name)", atomically: true, encoding: .utf8)
        }
        // sshd's privilege-separation directory; Debian's service makes it at boot.
        mkdir("/run/sshd", 0o755)
        let command = TestProcessLifetime.tied(["/usr/sbin/sshd", "-D", "-e", "-f", "\(directory)/sshd_config"])
        server.executableURL = URL(fileURLWithPath: command[0])
        server.arguments = Array(command.dropFirst())
        server.standardOutput = FileHandle.nullDevice
        _ = FileManager.default.createFile(atPath: "\(directory)/sshd.log", contents: nil)
        server.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(directory)/sshd.log"))
        server.standardInput = FileHandle.nullDevice
        try TestProcessLifetime.start(server)
        // Its own word that it listens (a port probe could reach whoever took the port since
        // the port was released), then one plain ssh session through the client config.
        for _ in 0..<400 where !log.contains("Server listening on 127.0.0.1 port \(port)") && server.isRunning { usleep(50_000) }
        let listening = log.contains("Server listening on 127.0.0.1 port \(port)")
        var ready = false
        for _ in 0..<3 where listening && !ready {
            let session = try BatonExecutable.run(["-F", "\(directory)/ssh_config", "-p", "\(port)", "127.0.0.1", "true"], executable: "/usr/bin/ssh")
            ready = session.status == 0
            if !ready { usleep(200_000) }
        }
        guard ready else {
            let log = self.log
            stop()
            throw DaemonProcessError("sshd did not start on 127.0.0.1:\(port): \(log)")
        }
    }

    /// `ssh://root@127.0.0.1:PORT`.
    var url: String { "ssh://root@127.0.0.1:\(port)" }

    /// The environment prefix that makes `baton` use this server's client config
    /// (`BATON_SSH_COMMAND`); `otherKey` offers a key the server does not accept.
    func environment(otherKey: Bool = false) -> [String] {
        ["/usr/bin/env", "BATON_SSH_COMMAND=ssh -F \(directory)/\(otherKey ? "ssh_config_other_key" : "ssh_config")"]
    }

    /// Makes the remote `baton` the built executable.
    func installBaton() throws {
        unlink(binDirectory + "/baton")
        try FileManager.default.createSymbolicLink(atPath: binDirectory + "/baton", withDestinationPath: BatonExecutable.path)
    }

    /// Makes the remote `baton` a shell script (an older Baton, say), or removes it (nil).
    func installFakeBaton(_ script: String?) throws {
        unlink(binDirectory + "/baton")
        guard let script else { return }
        try ("#!/bin/sh\n" + script + "\n").write(toFile: binDirectory + "/baton", atomically: true, encoding: .utf8)
        chmod(binDirectory + "/baton", 0o755)
    }

    var log: String { (try? String(contentsOfFile: "\(directory)/sshd.log", encoding: .utf8)) ?? "" }

    func stop() {
        if server.isRunning {
            kill(server.processIdentifier, SIGTERM)
            for _ in 0..<100 where server.isRunning { usleep(50_000) }
            if server.isRunning { kill(server.processIdentifier, SIGKILL) }
            server.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }


    private static func run(_ command: [String]) throws {
        let result = try BatonExecutable.run(Array(command.dropFirst()), executable: command[0])
        guard result.status == 0 else { throw DaemonProcessError("\(command.joined(separator: " ")) failed: \(result.stderr)") }
    }
}
