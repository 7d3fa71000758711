import BatonOS
import NIOCore
import NIOHTTP1

extension ProxyHandler {
    /// A request head: refused, answered by the proxy, or routed to its app's upstream.
    func requestHead(_ head: RequestHead) {
        guard case .idle = state else {
            illegalEvent("a request head while another request is in progress")
            return
        }
        let startedAt = NIODeadline.now()
        clientDeadline.requestStarted(at: startedAt)
        let hostHeader = head.headers.first(name: "host") ?? ""
        let request = RequestRecord(
            requestID: Self.clientRequestID(head.headers) ?? loop.nextRequestID(), startedAt: startedAt,
            method: head.method, uri: head.uri, hostHeader: hostHeader, version: head.version,
            keepAlive: connection.http2 || head.isKeepAlive)

        if let refusal = RequestFraming.check(head, http2: connection.http2) {
            respondLocally(request, refusal.status, refusal.reason, close: true)
            return
        }
        let upstreamURI: String
        switch RequestTarget.resolve(method: head.method, uri: head.uri, hostHeader: hostHeader) {
        case .forward(let target):
            upstreamURI = target
        case .refuse(let status, let reason):
            let allow = status == .methodNotAllowed ? RequestTarget.allowedMethods : nil
            respondLocally(request, status, reason, close: true, allow: allow)
            return
        }
        guard let (host, resolved) = loop.route(hostHeader: hostHeader) else {
            if hostHeader.isEmpty {
                respondLocally(request, .notFound, "no Host header", close: false)
            } else {
                respondLocally(request, .badRequest, "invalid Host header", close: true)
            }
            return
        }
        guard let found = resolved else {
            respondLocally(request, .notFound, "no app serves host " + host, close: false)
            return
        }
        if let route = found, let location = httpsRedirect(route, host: host, uri: upstreamURI),
            !VerifyProbe.carriesToken(head, configuration.verifyToken)
        {
            respondLocally(request, .permanentRedirect, location, close: false, metrics: loop.metrics(app: route.app),
                           location: location)
            return
        }
        if let route = found, route.target != nil || route.hold != nil, let cap = configuration.maxBodyBytes,
            let length = RequestFraming.contentLength(head), length > cap
        {
            respondLocally(request, .payloadTooLarge, "request body larger than \(cap) bytes", close: true,
                           metrics: loop.metrics(app: route.app))
            return
        }
        dispatch(Arrival(request: request, head: head, upstreamURI: upstreamURI, host: host), route: found, held: nil)
    }

    /// Sends a routed request on: held while its route holds, else to the route's target, else
    /// answered 503. `held` is the request's hold when it was held until now.
    func dispatch(_ arrival: Arrival, route found: ResolvedRoute?, held: HeldRequest?) {
        guard let route = found else {
            refuse(arrival, held: held, .serviceUnavailable, "app ? has no ready target", metrics: nil)
            return
        }
        let metrics = loop.metrics(app: route.app)
        if let (hold, count) = route.hold {
            self.hold(arrival, app: route.app, hold: hold, count: count, metrics: metrics)
            return
        }
        guard let target = route.pickTarget() else {
            refuse(arrival, held: held, .serviceUnavailable, "app " + route.app + " has no ready target", metrics: metrics)
            return
        }
        let head = arrival.head
        let h2c = route.options.upstreamProtocol == .h2c
        // HTTP/2 has no Upgrade (RFC 9113 §8.6), on either side: a client's HTTP/2 stream refuses
        // the header, and to an h2c app the request goes as a plain one. Nothing becomes a tunnel.
        let upgrade = !connection.http2 && !h2c && head.headers.contains(name: "upgrade") && Self.connectionHasUpgrade(head.headers)
        var upstreamHead = ForwardedHeaders.upstreamRequest(
            head, uri: arrival.upstreamURI, forwarding: { [loop, client] in loop.forwardingFields(client, host: $0) },
            requestID: arrival.request.requestID, upgrade: upgrade)
        if h2c { ForwardedHeaders.keepTrailersTE(of: head, in: &upstreamHead) }
        let exchange = Exchange(
            request: arrival.request, app: route.app, target: target, metrics: metrics, upstreamHead: upstreamHead,
            upgradeRequested: upgrade, upstreamProtocol: route.options.upstreamProtocol,
            hsts: connection.secure && route.options.hsts, ring: route.ring)
        exchange.namesTarget = VerifyProbe.carriesToken(head, configuration.verifyToken)
        if let held {
            // What arrived of the request while it was held goes first.
            exchange.body = held.body
            exchange.pending = held.pending
        }
        if !h2c, let pooled = loop.takeIdle(target) {
            exchange.connection = .pooled
            attach(pooled, to: exchange)
        } else {
            connect(exchange)
        }
    }

    func requestBody(_ body: ByteBuffer) {
        switch state {
        case .connecting(let exchange), .forwarding(let exchange, _):
            guard countBody(body, of: exchange) else { return }
            if case .forwarding(_, let upstream) = state {
                upstream.send(.body(.byteBuffer(body)))
            } else {
                exchange.pending.append(.body(.byteBuffer(body)))
            }
        case .holding(let held):
            // It waits with the request (reads stop meanwhile) and goes first once forwarded.
            guard countBody(body, of: held) else { return }
            held.pending.append(.body(.byteBuffer(body)))
        case .discardingBody:
            break
        case .idle, .tunnelling, .closing, .closed:
            illegalEvent("request body with no request")
        }
    }

    func requestEnd(_ received: HTTPHeaders?) {
        switch state {
        case .connecting(let exchange), .forwarding(let exchange, _):
            guard case .reading(let bytes) = exchange.body else {
                illegalEvent("a second end of one request")
                return
            }
            exchange.body = .ended(bytes: bytes)
            clientDeadline.requestRead()
            let trailers = ForwardedHeaders.trailers(received)
            if case .forwarding(_, let upstream) = state {
                upstream.send(.end(trailers))
                upstream.flushIfNeeded()
                // A response that started before the request ended (a gRPC stream) has no head to wait for.
                if !exchange.responseStarted { armResponseDeadline(exchange) }
            } else {
                exchange.pending.append(.end(trailers))
            }
        case .holding(let held):
            guard case .reading(let bytes) = held.body else {
                illegalEvent("a second end of one request")
                return
            }
            held.body = .ended(bytes: bytes)
            clientDeadline.requestRead()
            held.pending.append(.end(ForwardedHeaders.trailers(received)))
        case .discardingBody:
            clientDeadline.requestRead()
            move(to: .idle)
            exchangeEnded()
        case .idle, .tunnelling, .closing, .closed:
            illegalEvent("request end with no request")
        }
    }

    /// The client sent no body bytes for too long (`ClientDeadline`): 408 when nothing of the
    /// response went out, else the connection closes.
    func bodyTimedOut() {
        switch state {
        case .connecting(let exchange), .forwarding(let exchange, _):
            guard !exchange.requestEnded else { return }
            if readMustWait {
                // The proxy stopped reading (the upstream is slow to take the body), not the client.
                clientDeadline.restartBodyClock()
                return
            }
            refuseRestOfBody(exchange, .requestTimeout, "request body not received in time")
        case .holding(let held):
            // Reads wait while the request is held: the proxy stopped reading, not the client.
            if !held.requestEnded { clientDeadline.restartBodyClock() }
        case .discardingBody:
            closeClient()
        case .idle, .tunnelling, .closing, .closed:
            break
        }
    }

    /// The client's X-Request-Id when it is a sane token, so ids can be traced end to end.
    private static func clientRequestID(_ headers: HeaderFields) -> String? {
        guard let value = headers.first(name: "x-request-id"), !value.isEmpty, value.utf8.count <= 128,
            value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") })
        else { return nil }
        return value
    }

    private static func connectionHasUpgrade(_ headers: HeaderFields) -> Bool {
        headers["connection"].contains { value in
            value.split(separator: ",").contains { equalsLowercase(trim($0), "upgrade") }
        }
    }
}
