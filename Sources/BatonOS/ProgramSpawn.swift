import Glibc

/// Starts a helper program (ssh, `baton-daemon registry …`) with posix_spawn: the given
/// descriptors as its stdin, stdout and stderr (nil: this process's own), no signal blocked,
/// and the signals a terminal or pipe sends back at their defaults, whatever this process did
/// with its own.
public enum ProgramSpawn {
    /// Runs `executable`, or `arguments[0]` looked up on PATH when it is nil; returns the pid.
    public static func start(_ arguments: [String], executable: String? = nil,
                             stdin: Int32? = nil, stdout: Int32? = nil, stderr: Int32? = nil) throws(OSError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (fd, target) in [(stdin, STDIN_FILENO), (stdout, STDOUT_FILENO), (stderr, STDERR_FILENO)] {
            if let fd { posix_spawn_file_actions_adddup2(&actions, fd, target) }
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
        let result = executable.map { posix_spawn(&pid, $0, &actions, &attributes, &argv, environ) }
            ?? posix_spawnp(&pid, arguments[0], &actions, &attributes, &argv, environ)
        guard result == 0 else { throw OSError("start \(executable ?? arguments[0])", errno: result) }
        return pid
    }
}
