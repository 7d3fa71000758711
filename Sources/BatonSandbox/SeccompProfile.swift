import BatonOS
import Glibc

/// Baton's default seccomp profile: an allowlist. The system calls in `allowed` pass; a few
/// pass only with arguments checked here (`clone` without namespace flags, `socket` of the
/// families a server needs, `ioctl` except terminal injection, `personality` queries); those
/// in `denied` get EPERM, as they always have; everything else gets ENOSYS, so programs take
/// their fallback path and a system call added to the kernel later is refused until it is
/// added here. docs/security.md lists each group and why.
enum SeccompProfile {
    /// Refused with EPERM: what could reach past the sandbox's namespaces, the kernel's
    /// integrity or other processes. Listed (rather than left to the default) so a program
    /// sees the usual "not permitted" answer.
    static let denied: [String] = [
        // Mount table and root changes: the sandbox's view of the filesystem is fixed.
        "mount", "umount", "umount2", "pivot_root", "chroot",
        "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
        // New or other namespaces.
        "unshare", "setns",
        // The kernel keyring is not namespaced.
        "keyctl", "add_key", "request_key",
        // Kernel programmability and tracing.
        "bpf", "perf_event_open", "lookup_dcookie",
        // Other processes' memory and descriptors.
        "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "process_madvise",
        // Replacing or rebooting the kernel, modules.
        "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot",
        // Host-wide resources.
        "swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "syslog", "vhangup", "uselib",
        "ioperm", "iopl", "_sysctl", "nfsservctl",
        // File handles bypass path-based confinement (the "shocker" escape).
        "open_by_handle_at", "name_to_handle_at",
        // userfaultfd stalls kernel threads at will, a classic exploit primitive.
        "userfaultfd",
        // The clock is the host's.
        "clock_settime", "clock_adjtime", "settimeofday", "adjtimex", "stime",
        // io_uring performs operations this filter never sees.
        "io_uring_setup", "io_uring_enter", "io_uring_register",
    ]

    /// clone(2) flags that would create namespaces.
    static let namespaceFlags: [Int32] = [
        Namespaces.mount, Namespaces.cgroup, Namespaces.uts, Namespaces.ipc,
        Namespaces.user, Namespaces.pid, Namespaces.network,
    ]

    /// Terminal ioctls that inject input into, or take over, the controlling terminal.
    static let tiocsti: UInt32 = 0x5412
    static let tioclinux: UInt32 = 0x541C

    /// Socket families a sandbox may open: local, IPv4, IPv6, and netlink for routes (how the
    /// C library learns the addresses it has). Not AF_VSOCK (the VM's host side), AF_PACKET,
    /// AF_ALG and the rest of the kernel's socket surface.
    static let addressFamilies: [Int32] = [AF_UNIX, AF_INET, AF_INET6]
    static let netlinkRoute: UInt64 = 0

    /// The profile's rules, made once per process (cheap); `SeccompProgramCache` compiles them.
    static let rules: SeccompRules = {
        let eperm = SeccompFilter.Action.errno(EPERM)
        // Other ABIs (i386 through int 0x80, x32) are refused: the filter describes x86-64 only.
        var filter = SeccompRules(defaultAction: .errno(ENOSYS), badArchitecture: eperm)
        for name in allowed { filter.add(.allow, name) }
        for name in denied { filter.add(eperm, name) }
        addCloneRules(&filter, eperm)
        addSocketRules(&filter, "socket")
        addSocketRules(&filter, "socketpair")
        addIoctlRules(&filter, eperm)
        addPersonalityRules(&filter, eperm)
        return filter
    }()

    /// `clone` passes without namespace flags and is refused with any. `clone3` answers ENOSYS
    /// (its flags sit in memory the filter cannot read), so the C library falls back to `clone`.
    private static func addCloneRules(_ filter: inout SeccompRules, _ refusal: SeccompFilter.Action) {
        let mask = namespaceFlags.reduce(UInt64(0)) { $0 | UInt64($1) }
        filter.add(.allow, "clone", matching: [.init(index: 0, comparison: .maskedEqual(mask: mask), value: 0)])
        for flag in namespaceFlags {
            filter.add(refusal, "clone", matching: [.init(index: 0, comparison: .maskedEqual(mask: UInt64(flag)), value: UInt64(flag))])
        }
    }

    /// The families in `addressFamilies`, and netlink for routes only; any other family gets
    /// EAFNOSUPPORT and another netlink protocol EPROTONOSUPPORT, as a kernel without them would
    /// answer. Full 64-bit comparisons: a family with high bits set matches no allow rule.
    private static func addSocketRules(_ filter: inout SeccompRules, _ name: String) {
        for family in addressFamilies {
            filter.add(.allow, name, matching: [.init(index: 0, comparison: .equal, value: UInt64(family))])
        }
        let netlink = UInt64(AF_NETLINK)
        filter.add(.allow, name, matching: [.init(index: 0, comparison: .equal, value: netlink),
                                                .init(index: 2, comparison: .equal, value: netlinkRoute)])
        filter.add(.errno(EPROTONOSUPPORT), name, matching: [.init(index: 0, comparison: .equal, value: netlink),
                                                                  .init(index: 2, comparison: .greaterOrEqual, value: netlinkRoute + 1)])
        // An array, not a Set: a Set's first use in a process costs a conformance lookup over
        // the whole binary, on every sandbox start.
        let allowed = addressFamilies.map(UInt64.init) + [netlink]
        for family in UInt64(0)...netlink where !allowed.contains(family) {
            filter.add(.errno(EAFNOSUPPORT), name, matching: [.init(index: 0, comparison: .equal, value: family)])
        }
        filter.add(.errno(EAFNOSUPPORT), name, matching: [.init(index: 0, comparison: .greaterOrEqual, value: netlink + 1)])
    }

    /// Every request but TIOCSTI and TIOCLINUX passes. The request is an int: only its low 32
    /// bits are compared, since the kernel ignores the rest (CVE-2017-5123 class).
    private static func addIoctlRules(_ filter: inout SeccompRules, _ refusal: SeccompFilter.Action) {
        let refused = [tiocsti, tioclinux]
        for request in refused {
            filter.add(refusal, "ioctl", matching: [.init(index: 1, comparison: .maskedEqual(mask: 0xffff_ffff), value: UInt64(request))])
        }
        for allowed in everything(except: refused) {
            filter.add(.allow, "ioctl", matching: [.init(index: 1, comparison: .maskedEqual(mask: allowed.mask), value: allowed.value)])
        }
    }

    /// Conditions `(x & mask) == value` on 32-bit values that together match every value but
    /// `refused`. libseccomp has no "not in set": a value differs from all of them when it
    /// differs in a bit where they all agree (one rule per such bit), or else agrees there and
    /// is one of the few combinations of the bits where they disagree that is not refused.
    static func everything(except refused: [UInt32]) -> [(mask: UInt64, value: UInt64)] {
        let agreeing = refused.dropFirst().reduce(UInt32.max) { $0 & ~($1 ^ refused[0]) }
        var conditions: [(mask: UInt64, value: UInt64)] = []
        for bit in 0..<32 where agreeing & (1 << bit) != 0 {
            let mask = UInt32(1) << bit
            conditions.append((UInt64(mask), UInt64(~refused[0] & mask)))
        }
        let disagreeing = (0..<32).filter { agreeing & (1 << $0) == 0 }
        for combination in 0..<(1 << disagreeing.count) {
            var value = refused[0] & agreeing
            for (position, bit) in disagreeing.enumerated() where combination & (1 << position) != 0 {
                value |= 1 << bit
            }
            if !refused.contains(value) { conditions.append((0xffff_ffff, UInt64(value))) }
        }
        return conditions
    }

    /// Only PER_LINUX (0) and the query (0xffffffff) pass: other personas weaken ASLR or change
    /// system call semantics. A 32-bit value other than those two has, going round its bits
    /// cyclically, some set bit followed by a clear one; one rule per bit position ("bit b set,
    /// bit b+1 clear") therefore refuses exactly the others with EPERM.
    private static func addPersonalityRules(_ filter: inout SeccompRules, _ refusal: SeccompFilter.Action) {
        for persona: UInt64 in [0, 0xffff_ffff] {
            filter.add(.allow, "personality", matching: [.init(index: 0, comparison: .equal, value: persona)])
        }
        for bit in 0..<32 {
            let mask = UInt64(1) << UInt64(bit)
            let other = UInt64(1) << UInt64((bit + 1) % 32)
            filter.add(refusal, "personality", matching: [
                .init(index: 0, comparison: .maskedEqual(mask: mask | other), value: mask),
            ])
        }
    }
}
