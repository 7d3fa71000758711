import CShims

/// A seccomp filter as plain values, compiled to BPF by `compile()` (SeccompCompiler.swift):
/// for each system call the first rule whose conditions hold decides. libseccomp only names
/// the system calls. `fingerprint` names the compiled program, so it can be kept and reused
/// until the rules or libseccomp change.
public struct SeccompRules: Sendable {
    public struct Rule: Sendable {
        public let action: SeccompFilter.Action
        public let name: String
        public let matches: [SeccompFilter.ArgumentMatch]
    }

    public let defaultAction: SeccompFilter.Action
    public let badArchitecture: SeccompFilter.Action
    public private(set) var rules: [Rule] = []

    public init(defaultAction: SeccompFilter.Action, badArchitecture: SeccompFilter.Action) {
        self.defaultAction = defaultAction
        self.badArchitecture = badArchitecture
    }

    /// A rule for `name`, tried after the ones added before it for that call (unlike
    /// `SeccompFilter.add`, where order does not count). Names unknown on this architecture
    /// are skipped when compiling.
    public mutating func add(_ action: SeccompFilter.Action, _ name: String, matching matches: [SeccompFilter.ArgumentMatch] = []) {
        rules.append(Rule(action: action, name: name, matches: matches))
    }

    /// libseccomp's version as one number (0 when it does not say): what it compiles may change
    /// with it.
    public static var libraryVersion: UInt64 {
        guard let version = seccomp_version() else { return 0 }
        return UInt64(version.pointee.major) << 32 | UInt64(version.pointee.minor) << 16 | UInt64(version.pointee.micro)
    }

    /// FNV-1a over libseccomp's version, the actions, every rule's name and conditions, in
    /// order: equal fingerprints compile to the same program.
    public var fingerprint: UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ value: UInt64) {
            for shift in stride(from: 0, to: 64, by: 8) {
                hash = (hash ^ ((value >> UInt64(shift)) & 0xff)) &* 0x0000_0100_0000_01b3
            }
        }
        func mix(_ text: String) {
            for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            mix(UInt64(text.utf8.count))
        }
        mix(Self.libraryVersion)
        mix(UInt64(defaultAction.raw))
        mix(UInt64(badArchitecture.raw))
        for rule in rules {
            mix(UInt64(rule.action.raw))
            mix(rule.name)
            mix(UInt64(rule.matches.count))
            for match in rule.matches {
                mix(UInt64(match.index))
                switch match.comparison {
                case .maskedEqual(let mask): mix(1); mix(mask)
                case .equal: mix(2)
                case .greaterOrEqual: mix(3)
                }
                mix(match.value)
            }
        }
        return hash
    }
}
