import NIOCore
import NIOHTTP1

extension ProxyHandler {
    /// Answers a request from the proxy itself when its head arrives. With `close` the
    /// connection closes after the response (the request's framing cannot be trusted, or its
    /// body is not wanted); without, the rest of the request body is read and dropped and the
    /// connection stays usable.
    func respondLocally(
        _ request: RequestRecord, _ status: HTTPResponseStatus, _ detail: String, close: Bool, allow: String? = nil,
        metrics: AppMetrics? = nil, location: String? = nil
    ) {
        answer(request, status, detail, close: close, requestEnded: false, allow: allow, location: location, metrics: metrics,
               target: "-")
    }

    /// Answers from the proxy in place of the upstream, before anything of the upstream's
    /// response went out. The caller has let go of the upstream connection.
    func respondLocally(_ exchange: Exchange, _ status: HTTPResponseStatus, _ detail: String, close: Bool) {
        exchange.leave()
        exchange.target.traffic.record(status: status.code, since: exchange.request.startedAt)
        answer(
            exchange.request, status, detail, close: close, requestEnded: exchange.requestEnded, allow: nil,
            metrics: exchange.metrics, target: exchange.target.label)
    }

    func answer(
        _ request: RequestRecord, _ status: HTTPResponseStatus, _ detail: String, close: Bool, requestEnded: Bool,
        allow: String?, location: String? = nil, metrics: AppMetrics?, target: String
    ) {
        guard let context else { return }
        let closing = close || !request.keepAlive || responseEndsConnection
        let body = ErrorResponse.body(status, detail: detail, requestID: request.requestID, allocator: context.channel.allocator)
        let head = ErrorResponse.head(
            status, bodyLength: body.readableBytes, requestID: request.requestID, close: closing, allow: allow,
            location: location)
        account(request, status: status.code, bytes: body.readableBytes, metrics: metrics, target: target)
        send(.head(head), to: context)
        send(.body(.byteBuffer(body)), to: context)
        if closing {
            move(to: .closing)
            sendAndFlush(.end(nil), to: context).assumeIsolated().whenComplete { [self] _ in
                closeClient()
            }
        } else if requestEnded {
            move(to: .idle)
            send(.end(nil), to: context, flush: true)
            exchangeEnded()
        } else {
            move(to: .discardingBody)
            send(.end(nil), to: context, flush: true)
        }
    }

    /// Ends an exchange's accounting: in-flight counts, metrics and the access log line.
    func finish(_ exchange: Exchange) {
        // Out of flight before out of the long-lived count: a drain never sees more ordinary
        // requests in flight than there are.
        exchange.leave()
        exchange.longLived?.end(by: .app)
        exchange.target.traffic.record(status: exchange.status, since: exchange.request.startedAt)
        account(
            exchange.request, status: exchange.status, bytes: exchange.bytesSent, metrics: exchange.metrics,
            target: exchange.target.label)
    }

    /// Counts a request answered and writes its access log line.
    func account(_ request: RequestRecord, status: UInt, bytes: Int, metrics: AppMetrics?, target: String) {
        let elapsed = NIODeadline.now() - request.startedAt
        if let metrics {
            metrics.countRequest(status: status)
            metrics.latency.record(Duration.nanoseconds(elapsed.nanoseconds))
        }
        if loop.shared.accessLog.enabled {
            loop.accessLog.append(
                AccessLogBuffer.Entry(
                    host: request.hostHeader, method: request.method.rawValue, path: request.uri, status: status,
                    bytes: bytes, durationNanoseconds: elapsed.nanoseconds, target: target, requestID: request.requestID),
                timestamp: loop.timestamp())
        }
    }

    /// An event the state has no business with: a bug in the proxy (or in a handler before
    /// it), never trusted. A 500 when a request is in progress and nothing of its response
    /// went out, else the connection closes; either way the upstream connection is dropped.
    func illegalEvent(_ what: String) {
        refuseRequestInProgress(.internalServerError, what)
    }

    /// The request in progress must go no further: `status` while nothing of its response went
    /// out, else (or with no request in progress) the connection closes.
    func refuseRequestInProgress(_ status: HTTPResponseStatus, _ detail: String) {
        switch state {
        case .connecting(let exchange), .forwarding(let exchange, _):
            refuseRestOfBody(exchange, status, detail)
        case .holding(let held):
            refuseRestOfBody(held, status, detail)
        case .idle, .discardingBody, .tunnelling, .closing, .closed:
            closeClient()
        }
    }

    /// The request body must go no further: the upstream connection is dropped, and the client
    /// gets `status` (or, once the response has started, a closed connection).
    func refuseRestOfBody(_ exchange: Exchange, _ status: HTTPResponseStatus, _ detail: String) {
        if case .forwarding(_, let upstream) = state { release(upstream, reuse: false) }
        if exchange.responseStarted {
            finish(exchange)
            closeClient()
        } else {
            respondLocally(exchange, status, detail, close: true)
        }
    }

    // MARK: parser errors

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let refusal: HTTPResponseStatus
        if error is UnsupportedTransferCoding {
            refusal = .notImplemented
        } else if let parserError = error as? HTTPParserError {
            refusal = parserError == .headerOverflow ? .requestHeaderFieldsTooLarge : .badRequest
        } else {
            // I/O errors (reset by peer, ...): channelInactive does the accounting.
            context.close(promise: nil)
            return
        }
        switch state {
        case .closing, .closed: return
        default: break
        }
        if mustQueue {
            // Belongs to a pipelined request after the one being answered.
            queued.append(.parserError(refusal))
            return
        }
        self.parserError(refusal)
    }

    func parserError(_ refusal: HTTPResponseStatus) {
        switch state {
        case .idle:
            respondLocally(.unparsed(requestID: loop.nextRequestID()), refusal, "malformed request", close: true)
        case .connecting, .forwarding, .holding:
            // Bad framing inside a body: the upstream must never see the rest of it.
            refuseRequestInProgress(refusal, "malformed request body")
        case .discardingBody, .tunnelling, .closing, .closed:
            closeClient()
        }
    }
}
