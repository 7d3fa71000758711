import BatonOS
import Glibc
import Testing

@Suite struct SeccompFilterTests {
    @Test func exportsClassicBPFThatGrowsWithRules() throws {
        let empty = try SeccompFilter(defaultAction: .allow, badArchitecture: .errno(EPERM)).exportBPF()
        let filter = try SeccompFilter(defaultAction: .allow, badArchitecture: .errno(EPERM))
        #expect(try filter.add(.errno(EPERM), "mount"))
        #expect(try filter.add(.errno(EPERM), "ioctl", matching: [.init(index: 1, mask: 0xffff_ffff, value: 0x5412)]))
        let program = try filter.exportBPF()
        #expect(!empty.isEmpty)
        #expect(program.count > empty.count)
    }

    @Test func unknownSyscallNamesAreSkippedNotFatal() throws {
        let filter = try SeccompFilter(defaultAction: .allow, badArchitecture: .errno(EPERM))
        #expect(try filter.add(.errno(EPERM), "no_such_syscall_here") == false)
        #expect(SeccompFilter.syscallNumber("mount") != nil)
    }
}

@Suite struct CapabilityNameTests {
    @Test func namesParseWithOrWithoutPrefixInAnyCase() {
        #expect(Capabilities.number(named: "NET_BIND_SERVICE") == 10)
        #expect(Capabilities.number(named: "cap_net_bind_service") == 10)
        #expect(Capabilities.number(named: "Sys_Admin") == 21)
        #expect(Capabilities.number(named: "FLY") == nil)
        #expect(Capabilities.lastCapability >= 40)
    }
}

@Suite struct OSErrorTests {
    @Test func syscallErrorsNameTheOperationAndErrno() {
        #expect(throws: OSError("open /nonexistent/x", errno: ENOENT)) {
            try sys("open /nonexistent/x") { open("/nonexistent/x", O_RDONLY) }
        }
        #expect(OSError("mkdir /x", errno: EACCES).description == "mkdir /x: Permission denied (errno 13)")
    }
}
