import Foundation

/// The `baton` binary built beside this test bundle (or $BATON_BIN); nil if it is not built.
public var batonBinary: String? { builtBaton(searchingUp: 4) }

/// $BATON_BIN, else `baton` in the test bundle's directory or in one of the `levels - 1`
/// directories above it.
public func builtBaton(searchingUp levels: Int) -> String? {
    if let explicit = ProcessInfo.processInfo.environment["BATON_BIN"] { return explicit }
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<levels {
        let candidate = directory.appendingPathComponent("baton").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    return nil
}
