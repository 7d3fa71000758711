/// A classic BPF interpreter for seccomp programs, as the kernel runs them (seccomp_data in,
/// a 32-bit action out), so that two programs can be compared over many inputs without
/// loading either. Instructions the seccomp verifier would refuse make it return nil.
struct ClassicBPF {
    let program: [UInt64]

    /// `struct seccomp_data`: nr, arch, instruction_pointer, args[6].
    struct Input {
        var number: UInt32
        var arch: UInt32
        var arguments: [UInt64] = Array(repeating: 0, count: 6)

        func word(at offset: UInt32) -> UInt32? {
            switch offset {
            case 0: return number
            case 4: return arch
            case 8, 12: return 0  // the instruction pointer: no rule looks at it
            case 16..<64 where offset % 4 == 0:
                let argument = arguments[Int(offset - 16) / 8]
                return offset % 8 == 0 ? UInt32(truncatingIfNeeded: argument) : UInt32(argument >> 32)
            default: return nil
            }
        }
    }

    func run(_ input: Input) -> UInt32? {
        var a: UInt32 = 0, x: UInt32 = 0
        var memory = [UInt32](repeating: 0, count: 16)
        var pc = 0
        while pc < program.count {
            let word = program[pc]
            let code = UInt16(truncatingIfNeeded: word), jt = Int((word >> 16) & 0xff), jf = Int((word >> 24) & 0xff)
            let k = UInt32(word >> 32)
            pc += 1
            let source = code & 0x08 == 0 ? k : x  // BPF_K or BPF_X
            switch code {
            case 0x20: guard let value = input.word(at: k) else { return nil }; a = value  // ld [k]
            case 0x00: a = k  // ld #k
            case 0x60: guard k < 16 else { return nil }; a = memory[Int(k)]  // ld M[k]
            case 0x01: x = k  // ldx #k
            case 0x61: guard k < 16 else { return nil }; x = memory[Int(k)]  // ldx M[k]
            case 0x02: guard k < 16 else { return nil }; memory[Int(k)] = a  // st
            case 0x03: guard k < 16 else { return nil }; memory[Int(k)] = x  // stx
            case 0x04, 0x0c: a = a &+ source
            case 0x14, 0x1c: a = a &- source
            case 0x24, 0x2c: a = a &* source
            case 0x34, 0x3c: guard source != 0 else { return nil }; a /= source
            case 0x44, 0x4c: a |= source
            case 0x54, 0x5c: a &= source
            case 0x64, 0x6c: a = source >= 32 ? 0 : a << source
            case 0x74, 0x7c: a = source >= 32 ? 0 : a >> source
            case 0x84: a = 0 &- a
            case 0x94, 0x9c: guard source != 0 else { return nil }; a %= source
            case 0xa4, 0xac: a ^= source
            case 0x05: pc += Int(k)  // ja
            case 0x15, 0x1d: pc += a == source ? jt : jf
            case 0x25, 0x2d: pc += a > source ? jt : jf
            case 0x35, 0x3d: pc += a >= source ? jt : jf
            case 0x45, 0x4d: pc += a & source != 0 ? jt : jf
            case 0x06: return k  // ret #k
            case 0x16: return a  // ret a
            case 0x07: x = a  // tax
            case 0x87: a = x  // txa
            default: return nil
            }
        }
        return nil  // ran off the end: the verifier refuses such a program
    }
}
