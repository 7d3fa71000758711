/// Holds an app's new requests while it has no sandbox to serve them: a stop-first swap holds
/// the app from before blue stops until green (or blue again) is routed. The daemon implements
/// it over the proxy's route table; tests use a fake.
public protocol RequestHolder: Sendable {
    /// From now on `app`'s new requests wait, each up to `timeout`, instead of going to the
    /// sandbox its route names; requests already on their way go on. Throws, holding nothing,
    /// if it cannot.
    func hold(app: String, timeout: Duration) async throws

    /// Ends the hold: the held requests, oldest first, and every new one go where the route
    /// installed now sends them. Never fails: a swap calls it on every way out.
    func release(app: String) async
}

/// How a swap replaces the sandbox serving an app.
public enum SwapStrategy: Sendable, Equatable {
    /// Green first: start green, wait until healthy, flip, then drain and stop blue. Two
    /// sandboxes of the app run for a moment.
    case blueGreen
    /// Blue first, for apps that must never run twice at once (one writer of a file on a
    /// volume): hold the app's new requests (each up to `holdTimeout`), drain and stop blue,
    /// start green and wait until healthy, flip, release the held requests to green. If green
    /// fails, blue's digest is started again and the held requests go to it.
    case stopFirst(holdTimeout: Duration)
}
