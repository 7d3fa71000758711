import NIOCore
import NIOHTTP1

/// A request as the access log and the proxy's own answers see it: all known from its head.
struct RequestRecord {
    let requestID: String
    let startedAt: NIODeadline
    let method: HTTPMethod
    let uri: String
    let hostHeader: String
    let version: HTTPVersion
    /// The client asked to keep the connection open after this exchange.
    let keepAlive: Bool

    /// Stands for bytes that never parsed into a request head.
    static func unparsed(requestID: String) -> RequestRecord {
        RequestRecord(
            requestID: requestID, startedAt: .now(), method: .GET, uri: "-", hostHeader: "", version: .http1_1,
            keepAlive: false)
    }
}

extension ProxyHandler {
    /// A request being read: forwarded (`Exchange`) or held (`HeldRequest`).
    protocol RequestInProgress: AnyObject {
        var body: BodyProgress { get set }
    }

    /// One request on its way to an upstream and its response on the way back: the payload of
    /// `connecting` and `forwarding`. A class, so events change it in place and a callback
    /// can tell whether the exchange it was made for is still the one in progress.
    final class Exchange: RequestInProgress {
        let request: RequestRecord
        let app: String
        /// Changes only while connecting, to another replica (`retarget`).
        private(set) var target: TargetState
        let metrics: AppMetrics
        /// The head sent upstream (origin-form, forwarding headers set).
        let upstreamHead: RequestHead
        let upgradeRequested: Bool
        /// HTTP/1.1 on a pooled connection, or h2c: a stream of the loop's connection to the target.
        let upstreamProtocol: UpstreamProtocol
        /// The response gets Strict-Transport-Security (the app asks for it and the client came over TLS).
        let hsts: Bool
        var body = BodyProgress.reading(bytes: 0)
        /// Request parts received while the upstream connection is being made.
        var pending: [UpstreamRequestPart] = []
        var response = ResponseProgress.awaitingHead(deadline: nil)
        var connection = UpstreamConnection.fresh
        var status: UInt = 0
        var bytesSent = 0
        /// Set while the response is a stream of server-sent events, which drains treat as long-lived.
        var longLived: LongLivedTicket?
        /// verify: the response names the target that answered (`VerifyProbe`): the request
        /// carried the proxy's token. The target is read when the response goes out, after any
        /// move to another replica.
        var namesTarget = false
        /// Counted in its target's and app's in-flight numbers until `leave()`.
        private var inFlight = true
        /// Replicas part: the app's replicas, and those this request failed to connect to.
        let ring: ReplicaRing?
        private(set) var tried: [TargetState] = []

        init(
            request: RequestRecord, app: String, target: TargetState, metrics: AppMetrics, upstreamHead: RequestHead,
            upgradeRequested: Bool, upstreamProtocol: UpstreamProtocol = .http1, hsts: Bool = false, ring: ReplicaRing? = nil
        ) {
            self.ring = ring
            self.request = request
            self.app = app
            self.target = target
            self.metrics = metrics
            self.upstreamHead = upstreamHead
            self.upgradeRequested = upgradeRequested
            self.upstreamProtocol = upstreamProtocol
            self.hsts = hsts
            target.enter()
            metrics.inFlight.increment()
        }

        var bodyBytes: Int {
            switch body {
            case .reading(let bytes), .ended(let bytes): return bytes
            }
        }

        var responseStarted: Bool {
            if case .streaming = response { return true }
            return false
        }

        /// Moves the request, not yet sent, to another replica: its in-flight count goes along.
        func retarget(to next: TargetState) {
            tried.append(target)
            if inFlight {
                target.leave()
                next.enter()
            }
            target = next
        }

        /// Leaves the in-flight counts (once; later calls do nothing).
        func leave() {
            guard inFlight else { return }
            inFlight = false
            target.leave()
            metrics.inFlight.decrement()
        }
    }

    /// Counts `body` into the request in progress; false when it must go no further (it came
    /// after the request's end, or passes the body cap), the request having been refused.
    func countBody(_ body: ByteBuffer, of request: some RequestInProgress) -> Bool {
        guard case .reading(let bytes) = request.body else {
            illegalEvent("request body after the request ended")
            return false
        }
        let total = bytes + body.readableBytes
        request.body = .reading(bytes: total)
        if let cap = configuration.maxBodyBytes, total > cap {
            refuseRequestInProgress(.payloadTooLarge, "request body larger than \(cap) bytes")
            return false
        }
        return true
    }

    enum BodyProgress {
        case reading(bytes: Int)
        case ended(bytes: Int)
    }

    enum ResponseProgress {
        /// No response head yet; `deadline` is set once the whole request went upstream.
        case awaitingHead(deadline: NIODeadline?)
        /// The head went to the client. `reusable`: the upstream connection may serve another
        /// exchange after this one; `closeAfter`: the client connection may not.
        case streaming(reusable: Bool, closeAfter: Bool)
    }

    enum UpstreamConnection {
        /// Made for this exchange.
        case fresh
        /// Taken from the pool: it may have been closed by the upstream under us.
        case pooled
        /// Made after a pooled one died; there is no second retry.
        case retry
    }
}

extension ProxyHandler.RequestInProgress {
    var requestEnded: Bool {
        if case .ended = body { return true }
        return false
    }
}
