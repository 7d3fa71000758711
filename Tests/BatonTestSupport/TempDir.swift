import Foundation
import Glibc

/// A fresh directory for one test, `/tmp/PREFIX-XXXXXX` (mkdtemp); `remove()` in `defer`.
public struct TempDir: Sendable {
    public let path: String

    public init(prefix: String) {
        var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }

    public func sub(_ name: String) -> String { path + "/" + name }
}
