import Glibc

/// Places where a test may have the process die at once (`SIGKILL`, no cleanup), to show that
/// what it leaves behind is recovered: `BATON_TEST_FAULT=<name>` in the environment. Read once;
/// unset in every real run, where `hit` is one comparison.
public enum FaultPoint: String, Sendable {
    /// A sandbox's program runs and the launcher has recorded nothing more than the sandbox's
    /// own record (the daemon has not inserted its row yet).
    case sandboxStarted = "sandbox-started"
    /// A hand-off's successor has told the old daemon it is ready (which still serves).
    case handoffReady = "handoff-ready"
    /// A hand-off's successor has adopted the sandboxes and accepts on nothing yet (the old
    /// daemon has let go).
    case handoffAdopted = "handoff-adopted"

    private static let armed: String? = getenv("BATON_TEST_FAULT").map { String(cString: $0) }

    public func hit() {
        if Self.armed == rawValue { kill(getpid(), SIGKILL) }
    }
}
