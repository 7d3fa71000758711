import BatonOS
@testable import BatonSandbox
import Glibc
import Testing

/// Baton compiles its seccomp profiles itself (SeccompCompiler) instead of with libseccomp.
/// An attacker gains if the new program allows anything the old one refused, or answers with
/// another errno; so both are run, without a kernel, over every system call number, foreign
/// architectures and x32 numbers, and a grid of argument values around every boundary the
/// argument rules draw, and must give the same action for each.
@Suite struct SeccompCompilerTests {
    @Test func theDefaultProfileAnswersEveryInputExactlyAsLibseccompsProgramDid() throws {
        let reference = ClassicBPF(program: try LibseccompProfile.program())
        let compiled = ClassicBPF(program: try SeccompProfile.rules.compile())
        let inputs = SeccompInputs.all()
        let differences = inputs.filter { compiled.run($0) != reference.run($0) }
        #expect(inputs.count > 20_000)
        #expect(inputs.allSatisfy { reference.run($0) != nil }, "the reference program must decide every input")
        #expect(differences.isEmpty, "\(differences.count) inputs differ, first: \(differences.prefix(5).map(describe))")
        // What the kernel translates and compiles at every start.
        #expect(compiled.program.count * 2 < reference.program.count, "\(compiled.program.count) vs \(reference.program.count)")
    }

    @Test func initsFilterAnswersEveryInputExactlyAsLibseccompsProgramDid() throws {
        let reference = ClassicBPF(program: try LibseccompProfile.initProgram())
        let compiled = ClassicBPF(program: try SeccompProfile.initRules.compile())
        let differences = SeccompInputs.all().filter { compiled.run($0) != reference.run($0) }
        #expect(differences.isEmpty, "\(differences.count) inputs differ, first: \(differences.prefix(5).map(describe))")
    }

    /// The rules of a call are tried in order; the first that holds decides, a rule without
    /// conditions holds always, and a call none of whose rules holds gets the default.
    @Test func theFirstRuleThatHoldsDecides() throws {
        let eperm = SeccompFilter.Action.errno(EPERM)
        var rules = SeccompRules(defaultAction: .errno(ENOSYS), badArchitecture: .killProcess)
        rules.add(.allow, "ioctl", matching: [.init(index: 1, comparison: .equal, value: 5)])
        rules.add(eperm, "ioctl", matching: [.init(index: 1, comparison: .greaterOrEqual, value: 0x1_0000_0000)])
        rules.add(.errno(EACCES), "ioctl")
        rules.add(.allow, "ioctl", matching: [.init(index: 1, comparison: .equal, value: 6)])  // never reached
        rules.add(.allow, "read")
        rules.add(eperm, "read")  // never reached
        rules.add(.allow, "write", matching: [.init(index: 0, comparison: .maskedEqual(mask: 0xff), value: 0x100)])  // never holds
        let program = ClassicBPF(program: try rules.compile())
        func action(_ name: String, _ arguments: [UInt64] = []) -> UInt32? {
            let number = UInt32(SeccompFilter.syscallNumber(name)!)
            return program.run(.init(number: number, arch: SeccompInputs.nativeArch, arguments: arguments + Array(repeating: 0, count: 6 - arguments.count)))
        }
        let allow: UInt32 = 0x7fff_0000, denied = 0x0005_0000 | UInt32(EPERM), refused = 0x0005_0000 | UInt32(EACCES)
        #expect(action("ioctl", [0, 5]) == allow)
        #expect(action("ioctl", [0, 5 | 0x1_0000_0000]) == denied)
        #expect(action("ioctl", [0, 0xffff_ffff]) == refused)
        #expect(action("ioctl", [0, 6]) == refused)
        #expect(action("read") == allow)
        #expect(action("write", [0x100]) == 0x0005_0000 | UInt32(ENOSYS))
        #expect(action("open") == 0x0005_0000 | UInt32(ENOSYS))
        #expect(program.run(.init(number: 0, arch: 0x4000_0003)) == 0x8000_0000, "another architecture: bad-architecture action")
    }

    @Test func aRuleOnASeventhArgumentIsRefusedWhenCompiling() {
        var rules = SeccompRules(defaultAction: .errno(ENOSYS), badArchitecture: .killProcess)
        rules.add(.allow, "ioctl", matching: [.init(index: 6, comparison: .equal, value: 0)])
        #expect(throws: OSError.self) { try rules.compile() }
    }

    /// Calls with long rule lists push the search's upper half beyond what a conditional jump
    /// reaches (255 instructions): the program still decides every call as written.
    @Test func aSearchLongerThanAJumpStillReachesEveryCall() throws {
        let names = Array(SeccompProfile.allowed.filter { SeccompFilter.syscallNumber($0).map { $0 >= 0 } ?? false }.prefix(60))
        var rules = SeccompRules(defaultAction: .errno(ENOSYS), badArchitecture: .killProcess)
        for name in names {
            rules.add(.allow, name, matching: [.init(index: 0, comparison: .equal, value: 7), .init(index: 1, comparison: .greaterOrEqual, value: 9)])
            rules.add(.errno(EPERM), name)
        }
        let compiled = try rules.compile()
        #expect(compiled.count > 600)
        let program = ClassicBPF(program: compiled)
        for name in names {
            let number = UInt32(SeccompFilter.syscallNumber(name)!)
            #expect(program.run(.init(number: number, arch: SeccompInputs.nativeArch, arguments: [7, 9, 0, 0, 0, 0])) == 0x7fff_0000, "\(name)")
            #expect(program.run(.init(number: number, arch: SeccompInputs.nativeArch, arguments: [7, 8, 0, 0, 0, 0])) == 0x0005_0000 | UInt32(EPERM), "\(name)")
        }
    }

    private func describe(_ input: ClassicBPF.Input) -> String {
        "nr \(input.number) arch \(String(input.arch, radix: 16)) args \(input.arguments.map { String($0, radix: 16) })"
    }
}

/// The inputs both programs are run over.
enum SeccompInputs {
    #if arch(x86_64)
    static let nativeArch: UInt32 = 0xc000_003e
    #elseif arch(arm64)
    static let nativeArch: UInt32 = 0xc000_00b7
    #endif

    /// Argument values on and around every boundary the profile's rules draw, single bits and
    /// their complements, both halves of 64 bits, and a fixed set of pseudo-random values.
    static let values: [UInt64] = {
        var values: [UInt64] = Array(0...20)
        values += [0x5412, 0x541c, 0x5411, 0x5413, 0x541b, 0x541d, 0x5402, 0x5416, 0x541e, 0x1_0000_5412, 0xffff_ffff_0000_541c]
        values += [0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff, 0x1_0000_0000, 0x1_0000_0001, 0x1_0000_0010,
                   0x1_ffff_ffff, 0xffff_ffff_0000_0000, 0xffff_ffff_ffff_ffff, 0x10_0000_0002, 0x8000_0000_0000_0000]
        let flags = SeccompProfile.namespaceFlags.map { UInt64(UInt32(bitPattern: $0)) }
        values += flags + [flags.reduce(0, |), 0x0001_0f00, 0x0001_0f00 | flags[0]]
        values += (0..<64).map { UInt64(1) << $0 }
        values += (0..<64).map { ~(UInt64(1) << $0) }
        values += (0..<32).map { UInt64(0xffff_ffff) & ~(UInt64(1) << $0) }
        var state: UInt64 = 0x9e37_79b9_7f4a_7c15
        for _ in 0..<150 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            values.append(state)
            values.append(state & 0xffff_ffff)
        }
        return values
    }()

    static func all() -> [ClassicBPF.Input] {
        var inputs: [ClassicBPF.Input] = []
        let numbers = Array(UInt32(0)...1100) + [0x3fff_ffff, 0x4000_0000, 0x4000_0001, 0x4000_003b, 0x4000_0200,
                                                  0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff]
        for arch in [nativeArch, 0x4000_0003, 0xc000_00b7, 0xc000_003e, 0, 0xffff_ffff] {
            for number in numbers { inputs.append(.init(number: number, arch: arch)) }
        }
        let argumentCalls = ["socket", "socketpair", "ioctl", "personality", "clone", "read", "mount"]
        for name in argumentCalls {
            guard let number = SeccompFilter.syscallNumber(name), number >= 0 else { continue }
            for index in 0..<3 {
                for value in values {
                    var arguments = [UInt64](repeating: 0, count: 6)
                    arguments[index] = value
                    inputs.append(.init(number: UInt32(number), arch: nativeArch, arguments: arguments))
                }
            }
            // Every pair of the first and third argument (a socket's family and protocol).
            for first in values.prefix(60) {
                for third in values {
                    inputs.append(.init(number: UInt32(number), arch: nativeArch, arguments: [first, 0, third, 0, 0, 0]))
                }
            }
        }
        return inputs
    }
}
