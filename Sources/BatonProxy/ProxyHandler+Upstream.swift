import NIOCore
import NIOHTTP1

extension ProxyHandler: UpstreamOwner {
    var clientWritable: Bool { context?.channel.isWritable ?? false }

    /// Makes a connection to the exchange's target (for h2c, a stream on the loop's connection to
    /// it); request parts wait in the exchange meanwhile.
    func connect(_ exchange: Exchange) {
        guard context != nil, move(to: .connecting(exchange)) else {
            exchange.leave()
            return
        }
        openUpstream(exchange)
    }

    /// Connects to the exchange's target now (the handler is connecting it).
    func openUpstream(_ exchange: Exchange) {
        guard let context else { return }
        let target = exchange.target
        let loopBox = NIOLoopBound(loop, eventLoop: context.eventLoop)
        let idleTimeout = configuration.upstreamIdleTimeout
        let connecting = exchange.upstreamProtocol == .h2c ? openStream(exchange) : loop.shared.connector.connect(
            to: target.target, on: context.eventLoop, timeout: configuration.connectTimeout
        ) { channel in
            channel.eventLoop.makeCompletedFuture {
                let pipeline = channel.pipeline.syncOperations
                let responses = UpstreamResponseDecoder()
                let upstream = UpstreamHandler(
                    target: target, loop: loopBox.value, idleTimeout: idleTimeout, requestEncoder: UpstreamRequestEncoder(responses: responses))
                responses.receiver = upstream
                try pipeline.addHandler(responses)
                try pipeline.addHandler(upstream)
            }
        }
        connecting.assumeIsolated().whenComplete { [self] result in
            let stillWaiting: Bool
            if case .connecting(let waiting) = state, waiting === exchange { stillWaiting = true } else { stillWaiting = false }
            switch result {
            case .success(let channel):
                guard let handler = try? channel.pipeline.syncOperations.handler(type: UpstreamHandler.self) else {
                    channel.close(promise: nil)
                    return
                }
                guard stillWaiting else {
                    // The client left or was answered meanwhile: keep the connection for someone else.
                    loop.putIdle(handler)
                    return
                }
                attach(handler, to: exchange)
            case .failure(let error):
                guard stillWaiting else { return }
                if connectToAnotherReplica(exchange) { return }
                if case ChannelError.connectTimeout = error {
                    exchange.metrics.countUpstreamError("connect_timeout")
                    respondLocally(exchange, .gatewayTimeout, "upstream did not accept the connection in time", close: !exchange.requestEnded)
                } else if case .sandbox = exchange.target.target {
                    // Nothing listens in a serving sandbox only when its app has died or is
                    // dying: the daemon restarts it, so this is the 503 (with Retry-After) the
                    // route gives once the exit is seen, not a gateway fault.
                    exchange.metrics.countUpstreamError("connect_refused")
                    respondLocally(exchange, .serviceUnavailable, "app " + exchange.app + " is not accepting connections",
                                   close: !exchange.requestEnded)
                } else {
                    exchange.metrics.countUpstreamError("connect_refused")
                    respondLocally(exchange, .badGateway, "upstream refused the connection", close: !exchange.requestEnded)
                }
            }
        }
    }

    /// Starts the exchange on `upstream`'s connection: head, buffered parts, then live streaming.
    func attach(_ upstream: UpstreamHandler, to exchange: Exchange) {
        guard upstream.context != nil else {
            // Closed between the pool and here: the exchange goes on a fresh connection.
            connect(exchange)
            return
        }
        guard move(to: .forwarding(exchange, upstream: upstream)) else {
            exchange.leave()
            release(upstream, reuse: true)
            return
        }
        upstream.owner = self
        upstream.send(.head(exchange.upstreamHead))
        for part in exchange.pending { upstream.send(part) }
        exchange.pending.removeAll(keepingCapacity: true)
        upstream.flushIfNeeded()
        if exchange.requestEnded { armResponseDeadline(exchange) }
        releaseHeldRead()
    }

    /// Lets go of the upstream connection: back to the pool when it is clean, closed otherwise.
    func release(_ upstream: UpstreamHandler, reuse: Bool) {
        upstream.owner = nil
        guard let channel = upstream.context?.channel else { return }
        if reuse && !upstream.broken {
            loop.putIdle(upstream)
        } else {
            upstream.markBroken()
            channel.close(promise: nil)
        }
    }

    func upstreamHead(_ head: ResponseHead) {
        guard case .forwarding(let exchange, let upstream) = state, case .awaitingHead = exchange.response, let context else {
            illegalEvent("a response head the proxy was not waiting for")
            return
        }
        let version = exchange.request.version
        if head.status.code < 200 && head.status.code != 101 {
            // 100 Continue and other interim responses go to the client as they come.
            let interim = ForwardedHeaders.clientResponse(head, clientVersion: version, keepAlive: true, upgrade: false)
            if version.minor >= 1 || version.major == 2 { send(.head(interim.head), to: context) }
            return
        }
        if head.status == .switchingProtocols {
            if exchange.upgradeRequested {
                startTunnel(head, exchange: exchange, upstream: upstream)
            } else {
                upstreamFailed(nil)
            }
            return
        }
        // After an upgrade request the decoder stops parsing, so the connection cannot go on;
        // nor can it after a response that starts before the request body has ended, nor
        // after the last response of a shutdown.
        var closeAfter = exchange.upgradeRequested || !exchange.requestEnded || !exchange.request.keepAlive
            || responseEndsConnection
        var framed = ForwardedHeaders.clientResponse(
            head, clientVersion: version, keepAlive: !closeAfter, upgrade: false, hsts: exchange.hsts)
        if exchange.namesTarget { VerifyProbe.name(exchange.target.label, in: &framed.head.headers) }
        if framed.closeDelimited { closeAfter = true }
        exchange.response = .streaming(reusable: head.isKeepAlive, closeAfter: closeAfter)
        exchange.status = head.status.code
        if let channel = upstream.context?.channel, exchange.upstreamProtocol == .http1, Self.isEventStream(head) {
            exchange.longLived = LongLivedTicket(loop: loop, target: exchange.target, upstream: channel, connection: self)
        }
        send(.head(framed.head), to: context)
    }

    func upstreamBody(_ body: ByteBuffer) {
        guard case .forwarding(let exchange, _) = state, exchange.responseStarted, let context else {
            illegalEvent("a response body before its head")
            return
        }
        exchange.bytesSent += body.readableBytes
        send(.body(.byteBuffer(body)), to: context)
    }

    func upstreamEnd(trailers received: HTTPHeaders?) {
        guard case .forwarding(let exchange, let upstream) = state,
            case .streaming(let reusable, let closeAfter) = exchange.response, let context
        else {
            illegalEvent("a response end before its head")
            return
        }
        let trailers = ForwardedHeaders.trailers(received)
        release(upstream, reuse: reusable && exchange.requestEnded)
        finish(exchange)
        if closeAfter || lastExchange {
            move(to: .closing)
            sendAndFlush(.end(trailers), to: context).assumeIsolated().whenComplete { [self] _ in
                closeClient()
            }
        } else {
            move(to: .idle)
            send(.end(trailers), to: context, flush: true)
            exchangeEnded()
        }
    }

    func upstreamReadComplete() {
        flushIfNeeded()
    }

    func upstreamWritable() {
        releaseHeldRead()
    }

    func upstreamFailed(_ error: (any Error)?) {
        // Not forwarding: a connection this handler already let go of; nothing depends on it.
        guard case .forwarding(let exchange, let upstream) = state else { return }
        release(upstream, reuse: false)
        if exchange.responseStarted {
            exchange.metrics.countUpstreamError("reset")
            finish(exchange)
            closeClient()
            return
        }
        // A pooled connection the upstream closed while idle: retry once on a fresh one. The
        // upstream may have run the request before it closed, so only a method that may run
        // twice (RFC 9110 §9.2.2) is retried, and only whole: no body bytes went out that could
        // not be sent again.
        if case .pooled = exchange.connection, exchange.request.method.isIdempotent, exchange.requestEnded,
            exchange.bodyBytes == 0
        {
            exchange.connection = .retry
            exchange.response = .awaitingHead(deadline: nil)
            exchange.pending = [.end(nil)]
            connect(exchange)
            return
        }
        if retryOnAnotherReplica(exchange) { return }
        exchange.metrics.countUpstreamError("reset")
        respondLocally(exchange, .badGateway, "upstream closed the connection", close: !exchange.requestEnded)
    }

    // MARK: response header deadline

    /// The response head of `exchange` is due within the response timeout. The check is a
    /// place on the event loop's `DeadlineWheel`, moved only to an earlier time: the exchanges
    /// of a keep-alive connection mostly move nothing, and an idle connection keeps no task
    /// scheduled with the loop (one kept about 0.2 KiB per idle connection until it fired).
    func armResponseDeadline(_ exchange: Exchange) {
        let deadline = NIODeadline.now() + configuration.responseHeaderTimeout
        exchange.response = .awaitingHead(deadline: deadline)
        guard context != nil else { return }
        loop.deadlines.setNoLater(self, at: deadline)
    }

    /// The wheel came round to the response deadline (`deadlineReached`).
    func responseDeadlineReached() {
        guard case .forwarding(let exchange, let upstream) = state, case .awaitingHead(let due?) = exchange.response
        else { return }
        if NIODeadline.now() < due {
            loop.deadlines.set(self, at: due)
            return
        }
        release(upstream, reuse: false)
        exchange.metrics.countUpstreamError("response_timeout")
        respondLocally(exchange, .gatewayTimeout, "upstream sent no response in time", close: !exchange.requestEnded)
    }
}
