import ArgumentParser

/// `--verify-rate`: requests per second, written `200` or `200/s` (as the docs write rates).
/// The range is checked with the other verify options, by `VerifyOptions.problem()`.
struct VerifyRateArgument: ExpressibleByArgument {
    let perSecond: Int

    init?(argument: String) {
        let digits = argument.hasSuffix("/s") ? String(argument.dropLast(2)) : argument
        guard let value = Int(digits) else { return nil }
        perSecond = value
    }
}
