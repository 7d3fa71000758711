import Glibc

/// Runs a system call that returns -1 and sets errno on failure, retrying on EINTR.
/// Every syscall made from Swift goes through here so failures name their operation.
@discardableResult
public func sys<T: BinaryInteger>(_ operation: @autoclosure () -> String, _ call: () -> T) throws(OSError) -> T {
    while true {
        let result = call()
        if result != -1 { return result }
        let code = Glibc.errno
        if code == EINTR { continue }
        throw OSError(operation(), errno: code)
    }
}

/// The same for calls that return a pointer, NULL on failure.
public func sys<T>(_ operation: @autoclosure () -> String, _ call: () -> T?) throws(OSError) -> T {
    while true {
        if let result = call() { return result }
        let code = Glibc.errno
        if code == EINTR { continue }
        throw OSError(operation(), errno: code)
    }
}
