import NIOCore
import NIOHTTP1

/// Server-sent events (a response of `text/event-stream`) are long-lived: a drain lets them
/// run to the long drain timeout, then ends each one cleanly, as if the app had ended it.
extension ProxyHandler: LongLivedConnection {
    static func isEventStream(_ head: ResponseHead) -> Bool {
        guard head.status.code == 200 else { return false }
        var eventStream = false
        head.headers.withFirst("content-type") { value in
            // `text/event-stream`, any case, with or without parameters.
            eventStream = value.count >= 17 && equalsLowercase(value.prefix(17), "text/event-stream")
        }
        return eventStream
    }

    /// Ends the event stream in progress: the client gets the response's end (the chunked
    /// terminator on HTTP/1.1, END_STREAM on HTTP/2), the upstream connection is closed. The
    /// client's connection stays open for its next request when it was kept alive.
    func goAway() {
        guard case .forwarding(let exchange, let upstream) = state, exchange.longLived != nil, exchange.responseStarted else {
            return
        }
        upstream.markBroken()
        upstreamEnd(trailers: nil)
    }
}
