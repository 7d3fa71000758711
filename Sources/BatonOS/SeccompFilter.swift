import CShims
import Glibc

/// A seccomp filter built with libseccomp in the parent and exported as classic BPF, which the
/// sandbox's child path loads with one seccomp(2) call. The policy lives with the caller
/// (BatonSandbox's profile); this type only builds.
public final class SeccompFilter {
    public enum Action: Sendable, Equatable {
        case allow
        case errno(Int32)
        case killProcess

        var raw: UInt32 {
            switch self {
            case .allow: return bt_scmp_act_allow()
            case .errno(let code): return bt_scmp_act_errno(UInt16(code))
            case .killProcess: return bt_scmp_act_kill_process()
            }
        }
    }

    /// One condition on a syscall argument, compared as the full 64-bit register.
    public struct ArgumentMatch: Sendable {
        public enum Comparison: Sendable {
            /// `(arg & mask) == value`: with a 32-bit mask, the high half (which the kernel
            /// ignores for an int argument) cannot smuggle a value past the rule.
            case maskedEqual(mask: UInt64)
            case equal
            case greaterOrEqual
        }

        public let index: UInt32
        public let comparison: Comparison
        public let value: UInt64

        public init(index: UInt32, mask: UInt64 = UInt64.max, value: UInt64) {
            self.init(index: index, comparison: mask == UInt64.max ? .equal : .maskedEqual(mask: mask), value: value)
        }

        public init(index: UInt32, comparison: Comparison, value: UInt64) {
            self.index = index
            self.comparison = comparison
            self.value = value
        }

        var raw: scmp_arg_cmp {
            switch comparison {
            case .maskedEqual(let mask): bt_scmp_arg(index, SCMP_CMP_MASKED_EQ, mask, value)
            case .equal: bt_scmp_arg(index, SCMP_CMP_EQ, value, 0)
            case .greaterOrEqual: bt_scmp_arg(index, SCMP_CMP_GE, value, 0)
            }
        }
    }

    private let context: scmp_filter_ctx

    public init(defaultAction: Action, badArchitecture: Action) throws(OSError) {
        guard let context = seccomp_init(defaultAction.raw) else { throw OSError("seccomp_init", errno: ENOMEM) }
        self.context = context
        try check("seccomp_attr_set(ACT_BADARCH)", seccomp_attr_set(context, SCMP_FLTATR_ACT_BADARCH, badArchitecture.raw))
        // A binary tree of syscall numbers instead of a linear scan: with an allowlist of
        // hundreds of calls, every system call would otherwise walk half of them.
        try check("seccomp_attr_set(CTL_OPTIMIZE)", seccomp_attr_set(context, SCMP_FLTATR_CTL_OPTIMIZE, 2))
    }

    deinit { seccomp_release(context) }

    /// The syscall number on this architecture, or nil where the name does not exist here.
    public static func syscallNumber(_ name: String) -> Int32? {
        let number = seccomp_syscall_resolve_name(name)
        return number == __NR_SCMP_ERROR ? nil : number
    }

    /// Adds a rule; all `matches` must hold. Names unknown on this architecture (or to this
    /// libseccomp) are skipped and reported as false.
    ///
    /// libseccomp lets an unconditional rule for a syscall override every conditional rule
    /// for it: give a syscall either one unconditional rule or only conditional ones, each
    /// action's conditions disjoint from the others'.
    @discardableResult
    public func add(_ action: Action, _ name: String, matching matches: [ArgumentMatch] = []) throws(OSError) -> Bool {
        guard let number = Self.syscallNumber(name) else { return false }
        let comparisons = matches.map(\.raw)
        let rc = comparisons.withUnsafeBufferPointer { buffer in
            seccomp_rule_add_array(context, action.raw, number, UInt32(buffer.count), buffer.baseAddress)
        }
        try check("seccomp_rule_add(\(name))", rc)
        return true
    }

    /// The filter as BPF instructions (8 bytes each), ready for `SpawnRequest.seccompProgram`.
    public func exportBPF() throws(OSError) -> [UInt64] {
        let fd = try sys("memfd_create") { bt_memfd_create("baton-seccomp") }
        defer { close(fd) }
        try check("seccomp_export_bpf", seccomp_export_bpf(context, fd))
        let size = try sys("lseek") { lseek(fd, 0, SEEK_END) }
        var program = [UInt64](repeating: 0, count: Int(size) / 8)
        let read = program.withUnsafeMutableBytes { buffer in pread(fd, buffer.baseAddress, buffer.count, 0) }
        guard read == Int(size) else { throw OSError("pread(seccomp bpf)", errno: EIO) }
        return program
    }

    /// libseccomp returns -errno rather than setting errno.
    private func check(_ operation: String, _ rc: Int32) throws(OSError) {
        if rc < 0 { throw OSError(operation, errno: -rc) }
    }
}
