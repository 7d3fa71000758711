@testable import BatonSandbox
import Testing

/// Detection of the host's cgroup layout from mountinfo text (v2 itself is exercised on
/// hosts that run it; here both layouts are parsed).
@Suite struct CgroupHierarchyTests {
    @Test func hybridHostWithV1ControllersIsV1() {
        let text = """
        30 22 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
        31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid shared:9 - cgroup2 cgroup2 rw
        35 30 0:31 / /sys/fs/cgroup/memory rw,nosuid shared:15 - cgroup cgroup rw,memory
        36 30 0:32 / /sys/fs/cgroup/pids rw,nosuid - cgroup cgroup rw,pids
        37 30 0:33 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct
        """
        #expect(CgroupHierarchy.parse(mountinfo: text) == .v1([
            "memory": "/sys/fs/cgroup/memory", "pids": "/sys/fs/cgroup/pids",
            "cpu": "/sys/fs/cgroup/cpu,cpuacct", "cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
        ]))
    }

    @Test func noCgroupMountsMeansNone() {
        #expect(CgroupHierarchy.parse(mountinfo: "22 27 0:21 / /proc rw - proc proc rw\n") == nil)
    }

    @Test func thisHostIsDetected() {
        #expect(CgroupHierarchy.host != nil)
    }
}
