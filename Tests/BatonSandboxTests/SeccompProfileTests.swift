import BatonOS
@testable import BatonSandbox
import Foundation
import Testing

/// The profile's rules, checked without a kernel: the allowlist builds, and the "every value
/// but these" conditions cover exactly what they should.
@Suite struct SeccompProfileTests {
    @Test func theProfileBuildsAndFitsTheKernelsLimit() throws {
        let program = try SeccompProfile.rules.compile()
        #expect(!program.isEmpty)
        #expect(program.count < 4096, "BPF programs are limited to 4096 instructions")
    }

    /// The compiled profile is kept under the root; a different profile gets its own file,
    /// and a damaged file is compiled afresh.
    @Test func nothingIsBothAllowedAndDenied() {
        #expect(Set(SeccompProfile.allowed).isDisjoint(with: SeccompProfile.denied))
        for filtered in ["socket", "socketpair", "clone", "clone3", "ioctl", "personality", "memfd_secret"] {
            #expect(!SeccompProfile.allowed.contains(filtered), "\(filtered) must go through its argument rules")
        }
    }

    /// Every 16-bit value, and values around the refused ones in the high half too.
    @Test func everythingExceptMatchesExactlyTheOtherValues() {
        let refused = [SeccompProfile.tiocsti, SeccompProfile.tioclinux]
        let conditions = LibseccompProfile.everything(except: refused)
        func matches(_ value: UInt32) -> Bool {
            conditions.contains { UInt64(value) & $0.mask == $0.value }
        }
        let wrong = (UInt32(0)...0xffff).filter { matches($0) == refused.contains($0) }
        #expect(wrong.isEmpty, "misjudged: \(wrong.prefix(8))")
        for high: UInt32 in [0x1_0000, 0x8000_0000, 0xffff_0000] {
            for value in refused { #expect(matches(value | high)) }
        }
    }
}

/// docs/security.md lists the profile; it must stay the profile the code builds.
@Suite struct SeccompProfileDocumentationTests {
    @Test func theSecurityPageNamesEverySystemCallTheProfileAllowsOrRefuses() throws {
        let page = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/security.md")
        let text = try String(contentsOf: page, encoding: .utf8)
        let missing = (SeccompProfile.allowed + SeccompProfile.denied).filter { !text.contains("`\($0)`") }
        #expect(missing.isEmpty, "docs/security.md does not name: \(missing)")
    }
}
