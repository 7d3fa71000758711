import BatonTestSupport
import Foundation
import Testing

/// Each test attempts one escape from inside a default sandbox through the static probe and
/// states what the kernel must answer.
@Suite(.enabled(if: isRoot, "requires root"))
struct SyscallAttackTests {
    /// Runs `/probe MODE` in a fresh sandbox; returns the probe's one-line verdict.
    func attempt(_ mode: String, _ extra: [String] = [], flags: [String] = []) throws -> String {
        let fixture = try SandboxFixture()
        let id = "probe-\(UUID().uuidString.prefix(8).lowercased())"
        defer { fixture.finish(checking: [id]) }
        let result = try fixture.run(["--name", id] + flags, ["/probe", mode] + extra)
        #expect(result.status == 0, "probe failed: \(result.stderr)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func mountingAFilesystemIsRefused() throws { #expect(try attempt("mount") == "EPERM") }
    @Test func unmountingProcIsRefused() throws { #expect(try attempt("umount") == "EPERM") }
    @Test func pivotRootIsRefused() throws { #expect(try attempt("pivot_root") == "EPERM") }
    @Test func chrootIsRefused() throws { #expect(try attempt("chroot") == "EPERM") }
    @Test func unshareOfAMountNamespaceIsRefused() throws { #expect(try attempt("unshare") == "EPERM") }
    @Test func unshareOfAUserNamespaceIsRefused() throws { #expect(try attempt("unshare-user") == "EPERM") }
    @Test func setnsIntoANamespaceIsRefused() throws { #expect(try attempt("setns") == "EPERM") }
    @Test func cloneWithNamespaceFlagsIsRefused() throws { #expect(try attempt("clone-newuser") == "EPERM") }
    @Test func plainForkStillWorks() throws { #expect(try attempt("fork") == "ok") }
    @Test func clone3AnswersENOSYSSoLibcFallsBackToCheckedClone() throws { #expect(try attempt("clone3") == "ENOSYS") }
    @Test func keyctlIsRefused() throws { #expect(try attempt("keyctl") == "EPERM") }
    @Test func addKeyIsRefused() throws { #expect(try attempt("add_key") == "EPERM") }
    @Test func bpfIsRefused() throws { #expect(try attempt("bpf") == "EPERM") }
    @Test func perfEventOpenIsRefused() throws { #expect(try attempt("perf_event_open") == "EPERM") }
    @Test func kexecLoadIsRefused() throws { #expect(try attempt("kexec_load") == "EPERM") }
    @Test func moduleLoadingIsRefused() throws { #expect(try attempt("init_module") == "EPERM") }
    @Test func rebootIsRefused() throws { #expect(try attempt("reboot") == "EPERM") }
    @Test func swaponIsRefused() throws { #expect(try attempt("swapon") == "EPERM") }
    @Test func acctIsRefused() throws { #expect(try attempt("acct") == "EPERM") }
    @Test func openByHandleAtIsRefused() throws { #expect(try attempt("open_by_handle_at") == "EPERM") }
    @Test func userfaultfdIsRefused() throws { #expect(try attempt("userfaultfd") == "EPERM") }
    @Test func settingTheClockIsRefused() throws { #expect(try attempt("clock_settime") == "EPERM") }
    @Test func ioUringIsRefused() throws { #expect(try attempt("io_uring_setup") == "EPERM") }
    @Test func changingPersonalityIsRefused() throws { #expect(try attempt("personality") == "EPERM") }
    @Test func queryingPersonalityIsAllowed() throws { #expect(try attempt("personality-query") == "ok") }
    @Test func ptraceOfInitIsRefused() throws { #expect(try attempt("ptrace", ["1"]) == "EPERM") }

    @Test func ptraceOfAnOutsidePidIsRefused() throws {
        // A host process the sandbox must never reach: not visible, and ptrace is filtered.
        let sleeper = ChildProcess()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["30"]
        try sleeper.run()
        defer { sleeper.terminate(); sleeper.waitUntilExit() }
        #expect(try attempt("ptrace", ["\(sleeper.processIdentifier)"]) == "EPERM")
        #expect(sleeper.isRunning)
    }

    @Test func tiocstiInjectionIsRefused() throws { #expect(try attempt("tiocsti") == "EPERM") }
    @Test func tiocstiWithHighBitsSetIsRefused() throws { #expect(try attempt("tiocsti-high") == "EPERM") }
    @Test func i386SyscallsAreRefused() throws { #expect(try attempt("i386") == "EPERM") }
    @Test func x32SyscallsAreRefused() throws { #expect(try attempt("x32") == "EPERM") }
    @Test func rawSocketsAreRefused() throws { #expect(try attempt("raw-socket") == "EPERM") }
    @Test func mknodOfADeviceIsRefused() throws { #expect(try attempt("mknod") == "EPERM") }

    // The allowlist: a system call the profile does not name is refused with ENOSYS,
    // including ones newer than the profile.
    @Test func memfdSecretIsNotAllowed() throws { #expect(try attempt("syscall", ["447"]) == "ENOSYS") }
    @Test func openTreeAttrIsNotAllowed() throws { #expect(try attempt("syscall", ["467"]) == "ENOSYS") }
    @Test func aSyscallNumberNoKernelHasYetIsNotAllowed() throws { #expect(try attempt("syscall", ["499"]) == "ENOSYS") }
    @Test func fanotifyIsNotAllowed() throws { #expect(try attempt("syscall", ["300"]) == "ENOSYS") }  // fanotify_init
    @Test func getpidIsAllowed() throws { #expect(try attempt("syscall", ["39"]) == "ok") }  // getpid
    @Test func ordinaryIoctlsPass() throws { #expect(try attempt("ioctl-fionread") == "ok") }

    // Sockets: "network: only lo" holds for every family, not only IP.
    @Test func vsockIsRefused() throws { #expect(try attempt("socket", ["40"]) == "EAFNOSUPPORT") }
    @Test func vsockWithHighBitsSetIsRefused() throws { #expect(try attempt("socket-high-bits") == "EAFNOSUPPORT") }
    @Test func packetSocketsAreRefused() throws { #expect(try attempt("socket", ["17"]) == "EAFNOSUPPORT") }
    @Test func kernelCryptoSocketsAreRefused() throws { #expect(try attempt("socket", ["38"]) == "EAFNOSUPPORT") }
    @Test func bluetoothAndOtherOldFamiliesAreRefused() throws {
        for family in ["3", "4", "5", "31"] { #expect(try attempt("socket", [family]) == "EAFNOSUPPORT", "family \(family)") }
    }
    @Test func netlinkAuditIsRefused() throws { #expect(try attempt("socket", ["16", "9"]) == "EPROTONOSUPPORT") }
    @Test func netlinkForRoutesIsAllowed() throws { #expect(try attempt("socket", ["16", "0"]) == "ok") }
    @Test func ipAndUnixSocketsAreAllowed() throws {
        for family in ["1", "2", "10"] { #expect(try attempt("socket", [family]) == "ok", "family \(family)") }
        #expect(try attempt("socketpair", ["1"]) == "ok")
        #expect(try attempt("socketpair", ["40"]) == "EAFNOSUPPORT")
    }

    @Test func unconfinedSeccompLetsClone3Through() throws {
        // The filter, not the kernel, produced ENOSYS above: without it clone3(NULL) is EINVAL.
        #expect(try attempt("clone3", flags: ["--seccomp", "unconfined"]) == "EINVAL")
    }
}
