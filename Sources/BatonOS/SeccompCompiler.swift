import Glibc

/// Classic BPF for a `SeccompRules`, written here rather than by libseccomp. The kernel
/// translates and JIT-compiles every instruction of a filter when a sandbox loads it (6 % of a
/// start with libseccomp's 703 instructions for the default profile), and libseccomp can only
/// say "every value but these" one rule per value or bit pattern. With first-match rules and a
/// fallback per system call the same profile takes about a third of the instructions.
///
/// The program: the architecture check; on x86-64, x32 numbers (bit 30 set, except -1) refused
/// as a foreign architecture, as libseccomp does; then a binary search over ranges of system
/// call numbers that share one action, ending in a return or in the rules of one call.
struct SeccompCompiler {
    /// One instruction, as the kernel's `struct sock_filter` reads it (code, jt, jf, k).
    struct Instruction {
        var code: UInt16
        var jt: UInt8 = 0
        var jf: UInt8 = 0
        var k: UInt32 = 0

        var word: UInt64 { UInt64(code) | UInt64(jt) << 16 | UInt64(jf) << 24 | UInt64(k) << 32 }

        static func load(_ offset: UInt32) -> Instruction { .init(code: 0x20, k: offset) }  // ld [k]
        static func and(_ mask: UInt32) -> Instruction { .init(code: 0x54, k: mask) }  // and #k
        static func jeq(_ value: UInt32, _ jt: UInt8, _ jf: UInt8) -> Instruction { .init(code: 0x15, jt: jt, jf: jf, k: value) }
        static func jgt(_ value: UInt32, _ jt: UInt8, _ jf: UInt8) -> Instruction { .init(code: 0x25, jt: jt, jf: jf, k: value) }
        static func jge(_ value: UInt32, _ jt: UInt8, _ jf: UInt8) -> Instruction { .init(code: 0x35, jt: jt, jf: jf, k: value) }
        static func ja(_ offset: UInt32) -> Instruction { .init(code: 0x05, k: offset) }
        static func ret(_ action: UInt32) -> Instruction { .init(code: 0x06, k: action) }
    }

    #if arch(x86_64)
    static let auditArch: UInt32 = 0xc000_003e  // AUDIT_ARCH_X86_64
    #elseif arch(arm64)
    static let auditArch: UInt32 = 0xc000_00b7  // AUDIT_ARCH_AARCH64
    #endif

    /// A run of system call numbers and what decides them: one action, or a call's own rules.
    private struct Range {
        var first: UInt32
        var last: UInt32
        var rules: [SeccompRules.Rule]?
        var action: UInt32
    }

    /// Offsets in `struct seccomp_data` (little-endian: an argument's low word first).
    private static let numberOffset: UInt32 = 0
    private static let archOffset: UInt32 = 4
    private static func argumentOffset(_ index: UInt32, high: Bool) -> UInt32 { 16 + 8 * index + (high ? 4 : 0) }

    static func compile(_ rules: SeccompRules) throws(OSError) -> [UInt64] {
        let badArchitecture = Instruction.ret(rules.badArchitecture.raw)
        var program: [Instruction] = [.load(archOffset), .jeq(auditArch, 1, 0), badArchitecture, .load(numberOffset)]
        #if arch(x86_64)
        program += [.jge(0x4000_0000, 0, 2), .jeq(0xffff_ffff, 1, 0), badArchitecture]
        #endif
        program += try search(ranges(rules)[...])
        return program.map(\.word)
    }

    /// Every number from 0 to 2^32-1 in order, each range as long as its numbers share an action.
    private static func ranges(_ rules: SeccompRules) -> [Range] {
        var byNumber: [(number: UInt32, rules: [SeccompRules.Rule])] = []
        for rule in rules.rules {
            guard let number = SeccompFilter.syscallNumber(rule.name), number >= 0 else { continue }
            if let at = byNumber.firstIndex(where: { $0.number == UInt32(number) }) {
                byNumber[at].rules.append(rule)
            } else {
                byNumber.append((UInt32(number), [rule]))
            }
        }
        byNumber.sort { $0.number < $1.number }
        let fallback = rules.defaultAction.raw
        var ranges: [Range] = []
        func append(_ first: UInt32, _ last: UInt32, _ action: UInt32) {
            if let previous = ranges.last, previous.rules == nil, previous.action == action, previous.last &+ 1 == first {
                ranges[ranges.count - 1].last = last
            } else {
                ranges.append(Range(first: first, last: last, rules: nil, action: action))
            }
        }
        var next: UInt32 = 0
        for (number, callRules) in byNumber {
            if number > next { append(next, number - 1, fallback) }
            // A call whose first rule has no conditions is decided by it alone.
            if callRules[0].matches.isEmpty {
                append(number, number, callRules[0].action.raw)
            } else {
                ranges.append(Range(first: number, last: number, rules: callRules, action: fallback))
            }
            next = number + 1
        }
        append(next, UInt32.max, fallback)
        return ranges
    }

    /// A balanced search: `jge` on the first number of the upper half, the lower half falling
    /// through. Jumps go forward at most 255 instructions; a longer one goes through `ja`.
    /// Where a scan is shorter (a few lone numbers among one action), the scan.
    private static func search(_ ranges: ArraySlice<Range>) throws(OSError) -> [Instruction] {
        if ranges.count == 1 { return try decide(ranges.first!) }
        let middle = ranges.startIndex + ranges.count / 2
        let lower = try search(ranges[..<middle])
        let upper = try search(ranges[middle...])
        let boundary = ranges[middle].first
        let tree: [Instruction] = lower.count <= 255
            ? [.jge(boundary, UInt8(lower.count), 0)] + lower + upper
            : [.jge(boundary, 0, 1), .ja(UInt32(lower.count))] + lower + upper
        if let scan = scan(ranges), scan.count <= tree.count { return scan }
        return tree
    }

    /// `jeq` for each number whose action is not the most common one of `ranges`, each to a
    /// shared return (the most common by count of numbers); nil if a range has rules or there are more than 16 such numbers.
    private static func scan(_ ranges: ArraySlice<Range>) -> [Instruction]? {
        guard ranges.allSatisfy({ $0.rules == nil }) else { return nil }
        var counts: [(action: UInt32, count: UInt64)] = []
        for range in ranges {
            let numbers = UInt64(range.last - range.first) + 1
            if let at = counts.firstIndex(where: { $0.action == range.action }) { counts[at].count += numbers } else { counts.append((range.action, numbers)) }
        }
        let common = counts.max { $0.count < $1.count }!.action
        let others = ranges.filter { $0.action != common }
        guard others.allSatisfy({ $0.last - $0.first < 16 }) else { return nil }
        let lone = others.flatMap { range in (range.first...range.last).map { (number: $0, action: range.action) } }
        guard lone.count <= 16 else { return nil }
        var returns: [UInt32] = []
        for (_, action) in lone where !returns.contains(action) { returns.append(action) }
        var program: [Instruction] = lone.enumerated().map { position, entry in
            let target = lone.count + 1 + returns.firstIndex(of: entry.action)!
            return .jeq(entry.number, UInt8(target - position - 1), 0)
        }
        program.append(.ret(common))
        program += returns.map { .ret($0) }
        return program
    }

    private static func decide(_ range: Range) throws(OSError) -> [Instruction] {
        guard let rules = range.rules else { return [.ret(range.action)] }
        var block: [Instruction] = []
        for rule in rules {
            guard let tests = try conditions(rule.matches) else { continue }  // can never match
            if tests.isEmpty { return block + [.ret(rule.action.raw)] }  // matches everything left
            block += try resolved(tests) + [.ret(rule.action.raw)]
        }
        return block + [.ret(range.action)]
    }

    /// A jump target inside one rule: the next instruction, a later one, or the next rule.
    private enum Target { case next, skip(UInt8), fail }
    private struct Test { var instruction: Instruction; var onTrue: Target = .next; var onFalse: Target = .next }

    /// The tests for all of a rule's conditions, each 64-bit comparison as two 32-bit ones; nil
    /// when a condition can never hold (a masked value with bits outside its mask).
    private static func conditions(_ matches: [SeccompFilter.ArgumentMatch]) throws(OSError) -> [Test]? {
        var tests: [Test] = []
        for match in matches {
            // System calls have six arguments; the kernel would refuse to load a program
            // that reads past them, and every sandbox start with it.
            guard match.index < 6 else { throw OSError("seccomp rule on argument \(match.index)", errno: EINVAL) }
            let value = match.value
            let (high, low) = (UInt32(value >> 32), UInt32(truncatingIfNeeded: value))
            let highOffset = argumentOffset(match.index, high: true), lowOffset = argumentOffset(match.index, high: false)
            switch match.comparison {
            case .equal:
                tests += [Test(instruction: .load(highOffset)), Test(instruction: .jeq(high, 0, 0), onFalse: .fail),
                          Test(instruction: .load(lowOffset)), Test(instruction: .jeq(low, 0, 0), onFalse: .fail)]
            case .maskedEqual(let mask):
                if value & ~mask != 0 { return nil }
                for (offset, part, expected) in [(highOffset, UInt32(mask >> 32), high), (lowOffset, UInt32(truncatingIfNeeded: mask), low)]
                where part != 0 {
                    tests.append(Test(instruction: .load(offset)))
                    if part != UInt32.max { tests.append(Test(instruction: .and(part))) }
                    tests.append(Test(instruction: .jeq(expected, 0, 0), onFalse: .fail))
                }
            case .greaterOrEqual:
                // Unsigned: a higher high word passes; an equal one leaves it to the low word.
                tests += [Test(instruction: .load(highOffset)), Test(instruction: .jgt(high, 0, 0), onTrue: .skip(3)),
                          Test(instruction: .jeq(high, 0, 0), onFalse: .fail),
                          Test(instruction: .load(lowOffset)), Test(instruction: .jge(low, 0, 0), onFalse: .fail)]
            }
        }
        return tests
    }

    /// The tests with their targets as offsets; failing goes past the rule's return.
    private static func resolved(_ tests: [Test]) throws(OSError) -> [Instruction] {
        try tests.enumerated().map { (position, test) throws(OSError) in
            var instruction = test.instruction
            func offset(_ target: Target) throws(OSError) -> UInt8 {
                switch target {
                case .next: return 0
                case .skip(let count): return count
                case .fail:
                    let distance = tests.count - position  // past the remaining tests and the return
                    guard distance <= 255 else { throw OSError("seccomp rule too long", errno: E2BIG) }
                    return UInt8(distance)
                }
            }
            instruction.jt = try offset(test.onTrue)
            instruction.jf = try offset(test.onFalse)
            return instruction
        }
    }
}

extension SeccompRules {
    /// The BPF program (8 bytes an instruction, for `SpawnRequest.seccompProgram`). For each
    /// system call its rules are tried in the order they were added and the first whose
    /// conditions all hold decides; a rule without conditions holds always, so it ends the
    /// call's list (its fallback). A call none of whose rules holds gets the default action.
    public func compile() throws(OSError) -> [UInt64] {
        try SeccompCompiler.compile(self)
    }
}
