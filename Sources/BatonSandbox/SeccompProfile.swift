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
        filter.add(refusal, "clone")
    }

    /// The families in `addressFamilies`, and netlink for routes only; any other family gets
    /// EAFNOSUPPORT and another netlink protocol EPROTONOSUPPORT, as a kernel without them would
    /// answer. Full 64-bit comparisons: a family with high bits set matches no allow rule.
    /// (Rules are tried in order, the first that holds decides: SeccompRules.)
    private static func addSocketRules(_ filter: inout SeccompRules, _ name: String) {
        for family in addressFamilies {
            filter.add(.allow, name, matching: [.init(index: 0, comparison: .equal, value: UInt64(family))])
        }
        let netlink = UInt64(AF_NETLINK)
        filter.add(.allow, name, matching: [.init(index: 0, comparison: .equal, value: netlink),
                                                .init(index: 2, comparison: .equal, value: netlinkRoute)])
        filter.add(.errno(EPROTONOSUPPORT), name, matching: [.init(index: 0, comparison: .equal, value: netlink)])
        filter.add(.errno(EAFNOSUPPORT), name)
    }

    /// Every request but TIOCSTI and TIOCLINUX passes. The request is an int: only its low 32
    /// bits are compared, since the kernel ignores the rest (CVE-2017-5123 class).
    private static func addIoctlRules(_ filter: inout SeccompRules, _ refusal: SeccompFilter.Action) {
        for request in [tiocsti, tioclinux] {
            filter.add(refusal, "ioctl", matching: [.init(index: 1, comparison: .maskedEqual(mask: 0xffff_ffff), value: UInt64(request))])
        }
        filter.add(.allow, "ioctl")
    }

    /// Only PER_LINUX (0) and the query (0xffffffff) pass, compared as 64-bit values: other
    /// personas weaken ASLR or change system call semantics and are refused with EPERM. A value
    /// whose low half is one of those two but whose high half is not zero (the kernel reads the
    /// low half only) has always been neither allowed nor refused: it gets the default, ENOSYS.
    private static func addPersonalityRules(_ filter: inout SeccompRules, _ refusal: SeccompFilter.Action) {
        let personas: [UInt64] = [0, 0xffff_ffff]
        for persona in personas {
            filter.add(.allow, "personality", matching: [.init(index: 0, comparison: .equal, value: persona)])
        }
        for persona in personas {
            filter.add(.errno(ENOSYS), "personality", matching: [.init(index: 0, comparison: .maskedEqual(mask: 0xffff_ffff), value: persona)])
        }
        filter.add(refusal, "personality")
    }
}
