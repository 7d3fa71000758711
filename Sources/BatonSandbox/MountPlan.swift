import BatonOS

/// The mounts beneath every sandbox root: the policy the C child path carries out.
/// Targets are relative to the new root and resolved by the child without following symlinks.
enum MountPlan {
    /// Directories of the skeleton layer on top of every root: mount targets are always these,
    /// never whatever the root has at those paths.
    static let skeleton = ["proc", "dev", "sys", "tmp"]

    /// From runc's defaults: kernel state a sandbox has no business reading.
    static let maskedPaths = [
        "proc/acpi", "proc/asound", "proc/kcore", "proc/keys", "proc/latency_stats",
        "proc/timer_list", "proc/timer_stats", "proc/sched_debug", "proc/scsi",
        "sys/firmware", "sys/devices/virtual/powercap",
    ]

    /// Kernel knobs readable but never writable from inside.
    static let readOnlyPaths = ["proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger"]

    /// The only devices: name and (major, minor). Made with these numbers, or, in a user
    /// namespace (no mknod there), bound from the host after checking the host node has them.
    static let devices: [(name: String, major: UInt32, minor: UInt32)] = [
        ("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0),
    ]

    static let nullDevice = makedev(1, 3)

    static func mounts(tmpSize: UInt64, hostBinds: [String] = [], binds: [SandboxSpec.Bind] = []) -> [SpawnRequest.Mount] {
        let nosuidNodevNoexec = MountFlags.nosuid | MountFlags.nodev | MountFlags.noexec
        var plan: [SpawnRequest.Mount] = hostBinds.map { path in
            .init(kind: .bind, source: path, target: String(path.drop { $0 == "/" }),
                  flags: MountFlags.readOnly | MountFlags.nosuid | MountFlags.nodev)
        }
        // Volumes and the operator's `--volume` directories; their mount points are in the
        // sandbox's own layer (SandboxLayer).
        plan += binds.map { bind in
            .init(kind: .bind, source: bind.source, target: String(bind.target.drop { $0 == "/" }),
                  flags: (bind.readOnly ? MountFlags.readOnly : 0) | MountFlags.nosuid | MountFlags.nodev)
        }
        plan += [
            .init(kind: .filesystem, target: "proc", fstype: "proc", flags: nosuidNodevNoexec),
            .init(kind: .filesystem, target: "sys", fstype: "sysfs", flags: nosuidNodevNoexec | MountFlags.readOnly),
            .init(kind: .filesystem, target: "tmp", fstype: "tmpfs", flags: MountFlags.nosuid | MountFlags.nodev,
                  data: "mode=1777,size=\(tmpSize)"),
            .init(kind: .filesystem, target: "dev", fstype: "tmpfs", flags: MountFlags.nosuid | MountFlags.noexec,
                  data: "mode=0755,size=64k,nr_inodes=64"),
        ]
        for device in devices {
            plan.append(.init(kind: .device, source: "/dev/\(device.name)", target: "dev/\(device.name)",
                              rdev: makedev(device.major, device.minor)))
        }
        plan += [
            .init(kind: .directory, target: "dev/pts", flags: 0o755),
            .init(kind: .filesystem, target: "dev/pts", fstype: "devpts", flags: MountFlags.nosuid | MountFlags.noexec,
                  data: "newinstance,ptmxmode=0666,mode=0620"),
            .init(kind: .symlink, source: "pts/ptmx", target: "dev/ptmx"),
            .init(kind: .directory, target: "dev/shm", flags: 0o1777),
            .init(kind: .filesystem, target: "dev/shm", fstype: "tmpfs", flags: nosuidNodevNoexec, data: "mode=1777,size=\(tmpSize)"),
            .init(kind: .symlink, source: "/proc/self/fd", target: "dev/fd"),
            .init(kind: .symlink, source: "/proc/self/fd/0", target: "dev/stdin"),
            .init(kind: .symlink, source: "/proc/self/fd/1", target: "dev/stdout"),
            .init(kind: .symlink, source: "/proc/self/fd/2", target: "dev/stderr"),
            .init(kind: .remountReadOnly, target: "dev", flags: MountFlags.nosuid | MountFlags.noexec),
        ]
        for path in maskedPaths {
            plan.append(.init(kind: .mask, source: "/dev/null", target: path, rdev: nullDevice))
        }
        for path in readOnlyPaths {
            plan.append(.init(kind: .readOnly, target: path, flags: nosuidNodevNoexec))
        }
        return plan
    }

    /// The kernel's encoding of a device number (new_encode_dev / gnu_dev_makedev).
    static func makedev(_ major: UInt32, _ minor: UInt32) -> UInt64 {
        let major = UInt64(major), minor = UInt64(minor)
        return ((major & 0xffff_f000) << 32) | ((major & 0xfff) << 8) | ((minor & 0xffff_ff00) << 12) | (minor & 0xff)
    }
}

enum MountFlags {
    static let readOnly: UInt = 1
    static let nosuid: UInt = 2
    static let nodev: UInt = 4
    static let noexec: UInt = 8
}
