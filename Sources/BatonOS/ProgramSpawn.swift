import CShims
import Glibc

/// Starts a helper program (ssh, `baton-daemon registry …`) with posix_spawn: the given
/// descriptors as its stdin, stdout and stderr (nil: this process's own), no signal blocked,
/// and the signals a terminal or pipe sends back at their defaults, whatever this process did
/// with its own.
public enum ProgramSpawn {
    /// Runs `executable`, or `arguments[0]` looked up on PATH when it is nil; returns the pid.
    /// `passing` descriptors become the child's 3, 4, … (without close-on-exec); with
    /// `closingOthers`, every other descriptor is closed in the child, close-on-exec or not
    /// (libraries such as NIO accept connections without it). `environment` is added to this
    /// process's own.
    public static func start(_ arguments: [String], executable: String? = nil,
                             stdin: Int32? = nil, stdout: Int32? = nil, stderr: Int32? = nil,
                             passing: [Int32] = [], closingOthers: Bool = false,
                             environment: [String: String] = [:]) throws(OSError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (fd, target) in [(stdin, STDIN_FILENO), (stdout, STDOUT_FILENO), (stderr, STDERR_FILENO)] {
            if let fd { posix_spawn_file_actions_adddup2(&actions, fd, target) }
        }
        // dup2 onto itself clears close-on-exec too (glibc 2.29 and later).
        for (index, fd) in passing.enumerated() { posix_spawn_file_actions_adddup2(&actions, fd, Int32(3 + index)) }
        if closingOthers {
            let result = bt_spawn_actions_close_from(&actions, Int32(3 + passing.count))
            guard result == 0 else { throw OSError("posix_spawn_file_actions_addclosefrom_np", errno: result) }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let added: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") }
        defer { for pointer in added { free(pointer) } }
        var inherited: [UnsafeMutablePointer<CChar>?] = []
        var entry = environ
        while let variable = entry.pointee {
            let name = String(cString: variable).prefix { $0 != "=" }
            if environment[String(name)] == nil { inherited.append(variable) }
            entry += 1
        }
        var envp = inherited + added + [nil]
        let result = executable.map { posix_spawn(&pid, $0, &actions, &attributes, &argv, &envp) }
            ?? posix_spawnp(&pid, arguments[0], &actions, &attributes, &argv, &envp)
        guard result == 0 else { throw OSError("start \(executable ?? arguments[0])", errno: result) }
        return pid
    }
}
