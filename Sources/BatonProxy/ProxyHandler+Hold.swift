import NIOCore
import NIOHTTP1

extension ProxyHandler {
    /// What a routed request's head said: all the proxy needs to send it on, now or once the
    /// hold on its route ends.
    struct Arrival {
        let request: RequestRecord
        let head: RequestHead
        let upstreamURI: String
        /// The normalized host it is routed by.
        let host: String
    }

    /// A request waiting while its app's route holds: the payload of `holding`. What arrives of
    /// its body meanwhile waits here (reads stop after the first), and goes first once it is
    /// forwarded.
    final class HeldRequest: RequestInProgress {
        let arrival: Arrival
        let app: String
        let hold: RouteHold
        let metrics: AppMetrics
        private let count: HeldCount
        var body = BodyProgress.reading(bytes: 0)
        var pending: [UpstreamRequestPart] = []
        private var counted = true

        init(arrival: Arrival, app: String, hold: RouteHold, count: HeldCount, metrics: AppMetrics) {
            self.arrival = arrival
            self.app = app
            self.hold = hold
            self.count = count
            self.metrics = metrics
        }

        /// Leaves the app's held count (once; later calls do nothing).
        func leave() {
            guard counted else { return }
            counted = false
            count.leave()
        }
    }

    /// Holds a request of an app whose route holds, unless the app has `hold.maxHeld` held
    /// already (503 at once: a flood cannot pin more connections than that).
    func hold(_ arrival: Arrival, app: String, hold: RouteHold, count: HeldCount, metrics: AppMetrics) {
        guard count.tryEnter(max: hold.maxHeld) else {
            respondLocally(arrival.request, .serviceUnavailable,
                           "too many requests held for app \(app) (at most \(hold.maxHeld)) while it restarts", close: false,
                           metrics: metrics)
            return
        }
        let held = HeldRequest(arrival: arrival, app: app, hold: hold, count: count, metrics: metrics)
        guard move(to: .holding(held)) else {
            held.leave()
            return
        }
        let timeout = hold.timeout.components
        let deadline = arrival.request.startedAt
            + .nanoseconds(timeout.seconds * 1_000_000_000 + timeout.attoseconds / 1_000_000_000)
        loop.held.add(self, deadline: deadline)
    }

    /// A new route table was installed: the held request routes itself by it. Returns true
    /// while its route still holds (it stays in line), false once it has gone on or been answered.
    func routeHeldRequest() -> Bool {
        guard case .holding(let held) = state else { return false }
        let found = loop.table.resolve(host: held.arrival.host)
        if case .some(.some(let route)) = found, route.hold != nil { return true }
        guard let route = found else {
            refuse(held.arrival, held: held, .notFound, "no app serves host " + held.arrival.host, metrics: held.metrics)
            return false
        }
        held.leave()
        dispatch(held.arrival, route: route, held: held)
        return false
    }

    /// The hold outlasted its timeout: 503, and the connection goes on.
    func heldTooLong() {
        guard case .holding(let held) = state else { return }
        refuse(held.arrival, held: held, .serviceUnavailable,
               "request held too long: app \(held.app) had no ready target within \(Self.seconds(held.hold.timeout))",
               metrics: held.metrics)
    }

    /// Answers a routed request from the proxy: one that was held leaves its count first.
    func refuse(_ arrival: Arrival, held: HeldRequest?, _ status: HTTPResponseStatus, _ detail: String, metrics: AppMetrics?) {
        guard let held else {
            respondLocally(arrival.request, status, detail, close: false, metrics: metrics)
            return
        }
        held.leave()
        answer(arrival.request, status, detail, close: false, requestEnded: held.requestEnded, allow: nil, metrics: metrics,
               target: "-")
    }

    /// A held request that must go no further (bad framing, a body over the cap): `status`,
    /// then the connection closes.
    func refuseRestOfBody(_ held: HeldRequest, _ status: HTTPResponseStatus, _ detail: String) {
        held.leave()
        loop.held.remove(self)
        answer(held.arrival.request, status, detail, close: true, requestEnded: held.requestEnded, allow: nil,
               metrics: held.metrics, target: "-")
    }

    /// The client left while its request was held.
    func abandon(_ held: HeldRequest) {
        held.leave()
        loop.held.remove(self)
        account(held.arrival.request, status: 499, bytes: 0, metrics: held.metrics, target: "-")
    }

    /// `30s`, `1.5s`: a hold timeout in a message.
    private static func seconds(_ duration: Duration) -> String {
        let parts = duration.components
        let millis = parts.seconds * 1000 + parts.attoseconds / 1_000_000_000_000_000
        return millis % 1000 == 0 ? "\(millis / 1000)s" : "\(Double(millis) / 1000)s"
    }
}
