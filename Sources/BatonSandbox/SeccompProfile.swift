import BatonOS
import Glibc

/// Baton's default seccomp profile: everything a server needs is allowed; what could reach
/// past the sandbox's namespaces, the kernel's integrity or other processes is refused with
/// EPERM. docs/security.md lists each group and why.
enum SeccompProfile {
    /// Refused outright.
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
    static let tiocsti: UInt64 = 0x5412
    static let tioclinux: UInt64 = 0x541C

    static func build() throws(OSError) -> [UInt64] {
        let eperm = SeccompFilter.Action.errno(EPERM)
        // Other ABIs (i386 through int 0x80, x32) are refused: the filter describes x86-64 only.
        let filter = try SeccompFilter(defaultAction: .allow, badArchitecture: eperm)
        for name in denied {
            try filter.add(eperm, name)
        }
        for flag in namespaceFlags {
            try filter.add(eperm, "clone", matching: [.init(index: 0, mask: UInt64(flag), value: UInt64(flag))])
        }
        // glibc falls back to clone(2), where the flags above can be inspected.
        try filter.add(.errno(ENOSYS), "clone3")
        // The request argument is an int: compare only its low 32 bits (CVE-2017-5123 class).
        for request in [tiocsti, tioclinux] {
            try filter.add(eperm, "ioctl", matching: [.init(index: 1, mask: 0xffff_ffff, value: request)])
        }
        try addPersonalityRules(filter, eperm)
        return try filter.exportBPF()
    }

    /// libseccomp has no "not in set" comparison. A 32-bit value other than 0 and 0xffffffff
    /// has, going round its bits cyclically, some set bit followed by a clear one; one rule per
    /// bit position ("bit b set, bit b+1 clear") therefore refuses exactly the other values.
    private static func addPersonalityRules(_ filter: SeccompFilter, _ action: SeccompFilter.Action) throws(OSError) {
        for bit in 0..<32 {
            let mask = UInt64(1) << UInt64(bit)
            let other = UInt64(1) << UInt64((bit + 1) % 32)
            try filter.add(action, "personality", matching: [
                .init(index: 0, mask: mask | other, value: mask),
            ])
        }
    }

    /// Built once per process: the profile does not depend on the spec.
    static let program: Result<[UInt64], OSError> = {
        do throws(OSError) { return .success(try build()) } catch { return .failure(error) }
    }()
}
