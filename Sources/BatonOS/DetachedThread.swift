import Glibc

/// A plain detached pthread, for work that must run beside a blocking call without pulling
/// Foundation's `Thread` (and the ICU half of Foundation) into `baton`.
public enum DetachedThread {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Starts `body` on a new detached thread; fails only if the system cannot make one.
    public static func start(_ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { raw in
            let body = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
            body.run()
            return nil
        }, context)
        if result == 0 {
            pthread_detach(thread)
        } else {
            // No thread: run inline rather than lose the work.
            Unmanaged<Body>.fromOpaque(context).takeRetainedValue().run()
        }
    }
}
