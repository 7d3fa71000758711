import BatonOS
@testable import BatonSandbox
import Glibc

/// The default profile as it was written for libseccomp, which compiled it until Baton's own
/// compiler did (SeccompCompiler): libseccomp has no rule order and no fallback, so each "every
/// value but these" was spelled out one rule per value or bit pattern. It stays as the
/// reference the compiled profile must answer exactly like.
enum LibseccompProfile {
    static func program() throws -> [UInt64] {
        let eperm = SeccompFilter.Action.errno(EPERM)
        let filter = try SeccompFilter(defaultAction: .errno(ENOSYS), badArchitecture: eperm)
        for name in SeccompProfile.allowed { try filter.add(.allow, name) }
        for name in SeccompProfile.denied { try filter.add(eperm, name) }

        let mask = SeccompProfile.namespaceFlags.reduce(UInt64(0)) { $0 | UInt64($1) }
        try filter.add(.allow, "clone", matching: [.init(index: 0, comparison: .maskedEqual(mask: mask), value: 0)])
        for flag in SeccompProfile.namespaceFlags {
            try filter.add(eperm, "clone", matching: [.init(index: 0, comparison: .maskedEqual(mask: UInt64(flag)), value: UInt64(flag))])
        }

        for name in ["socket", "socketpair"] {
            for family in SeccompProfile.addressFamilies {
                try filter.add(.allow, name, matching: [.init(index: 0, comparison: .equal, value: UInt64(family))])
            }
            let netlink = UInt64(AF_NETLINK)
            try filter.add(.allow, name, matching: [.init(index: 0, comparison: .equal, value: netlink),
                                                    .init(index: 2, comparison: .equal, value: SeccompProfile.netlinkRoute)])
            try filter.add(.errno(EPROTONOSUPPORT), name, matching: [.init(index: 0, comparison: .equal, value: netlink),
                                                                     .init(index: 2, comparison: .greaterOrEqual, value: SeccompProfile.netlinkRoute + 1)])
            let allowed = SeccompProfile.addressFamilies.map(UInt64.init) + [netlink]
            for family in UInt64(0)...netlink where !allowed.contains(family) {
                try filter.add(.errno(EAFNOSUPPORT), name, matching: [.init(index: 0, comparison: .equal, value: family)])
            }
            try filter.add(.errno(EAFNOSUPPORT), name, matching: [.init(index: 0, comparison: .greaterOrEqual, value: netlink + 1)])
        }

        let refused = [SeccompProfile.tiocsti, SeccompProfile.tioclinux]
        for request in refused {
            try filter.add(eperm, "ioctl", matching: [.init(index: 1, comparison: .maskedEqual(mask: 0xffff_ffff), value: UInt64(request))])
        }
        for allowed in everything(except: refused) {
            try filter.add(.allow, "ioctl", matching: [.init(index: 1, comparison: .maskedEqual(mask: allowed.mask), value: allowed.value)])
        }

        for persona: UInt64 in [0, 0xffff_ffff] {
            try filter.add(.allow, "personality", matching: [.init(index: 0, comparison: .equal, value: persona)])
        }
        for bit in 0..<32 {
            let mask = UInt64(1) << UInt64(bit)
            let other = UInt64(1) << UInt64((bit + 1) % 32)
            try filter.add(eperm, "personality", matching: [.init(index: 0, comparison: .maskedEqual(mask: mask | other), value: mask)])
        }
        return try filter.exportBPF()
    }

    /// Init's filter as libseccomp compiled it.
    static func initProgram() throws -> [UInt64] {
        let filter = try SeccompFilter(defaultAction: .killProcess, badArchitecture: .killProcess)
        for name in SeccompProfile.initCalls { try filter.add(.allow, name) }
        return try filter.exportBPF()
    }

    /// Conditions `(x & mask) == value` on 32-bit values that together match every value but
    /// `refused`: a value differs from all of them when it differs in a bit where they all agree
    /// (one rule per such bit), or else agrees there and is one of the few combinations of the
    /// bits where they disagree that is not refused.
    static func everything(except refused: [UInt32]) -> [(mask: UInt64, value: UInt64)] {
        let agreeing = refused.dropFirst().reduce(UInt32.max) { $0 & ~($1 ^ refused[0]) }
        var conditions: [(mask: UInt64, value: UInt64)] = []
        for bit in 0..<32 where agreeing & (1 << bit) != 0 {
            let mask = UInt32(1) << bit
            conditions.append((UInt64(mask), UInt64(~refused[0] & mask)))
        }
        let disagreeing = (0..<32).filter { agreeing & (1 << $0) == 0 }
        for combination in 0..<(1 << disagreeing.count) {
            var value = refused[0] & agreeing
            for (position, bit) in disagreeing.enumerated() where combination & (1 << position) != 0 {
                value |= 1 << bit
            }
            if !refused.contains(value) { conditions.append((0xffff_ffff, UInt64(value))) }
        }
        return conditions
    }
}
