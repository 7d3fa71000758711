import NIOCore
import NIOHTTP1

extension ProxyHandler: UpstreamOwner {
    var clientWritable: Bool { context.channel.isWritable }

    func connect(to target: TargetState) {
        phase = .connecting
        let loopBox = NIOLoopBound(loop, eventLoop: context.eventLoop)
        let idleTimeout = configuration.upstreamIdleTimeout
        let connecting = loop.shared.connector.connect(
            to: target.target, on: context.eventLoop, timeout: configuration.connectTimeout
        ) { channel in
            channel.eventLoop.makeCompletedFuture {
                let pipeline = channel.pipeline.syncOperations
                try pipeline.addHandler(HTTPRequestEncoder())
                try pipeline.addHandler(
                    ByteToMessageHandler(
                        HTTPResponseDecoder(leftOverBytesStrategy: .forwardBytes, informationalResponseStrategy: .forward)))
                try pipeline.addHandler(UpstreamHandler(target: target, loop: loopBox.value, idleTimeout: idleTimeout))
            }
        }
        connecting.assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(let channel):
                guard let handler = try? channel.pipeline.syncOperations.handler(type: UpstreamHandler.self) else {
                    channel.close(promise: nil)
                    return
                }
                guard phase == .connecting, route?.target === target else {
                    // The client left while we connected: keep the connection for someone else.
                    loop.putIdle(handler)
                    return
                }
                attach(handler)
            case .failure(let error):
                guard phase == .connecting, route?.target === target else { return }
                let timedOut: Bool
                if case ChannelError.connectTimeout = error { timedOut = true } else { timedOut = false }
                metrics?.countUpstreamError(timedOut ? "connect_timeout" : "connect_refused")
                inFlightDone()
                if timedOut {
                    respondLocally(.gatewayTimeout, "upstream did not accept the connection in time", close: !requestEnded)
                } else {
                    respondLocally(.badGateway, "upstream refused the connection", close: !requestEnded)
                }
            }
        }
    }

    /// Starts the exchange on `handler`'s connection: head, buffered parts, then live streaming.
    func attach(_ handler: UpstreamHandler) {
        guard let upstreamContext = handler.context, let head = upstreamRequest else { return }
        upstream = handler
        handler.owner = self
        phase = .forwarding
        upstreamContext.write(NIOAny(HTTPClientRequestPart.head(head)), promise: nil)
        for part in pending {
            switch part {
            case .head: break
            case .body(let body): upstreamContext.write(NIOAny(HTTPClientRequestPart.body(.byteBuffer(body))), promise: nil)
            case .end(let trailers): upstreamContext.write(NIOAny(HTTPClientRequestPart.end(trailers)), promise: nil)
            }
        }
        pending.removeAll(keepingCapacity: true)
        upstreamContext.flush()
        if requestEnded { armResponseDeadline() }
        releaseHeldRead()
    }

    /// Lets go of the upstream connection: back to the pool when it is clean, closed otherwise.
    func detachUpstream(reuse: Bool) {
        cancelResponseDeadline()
        guard let handler = upstream else { return }
        upstream = nil
        handler.owner = nil
        guard let channel = handler.context?.channel else { return }
        if reuse && !handler.broken {
            loop.putIdle(handler)
        } else {
            handler.markBroken()
            channel.close(promise: nil)
        }
    }

    func upstreamHead(_ head: HTTPResponseHead) {
        guard phase == .forwarding else { return }
        if head.status.code < 200 && head.status.code != 101 {
            // 100 Continue and other interim responses go to the client as they come.
            let interim = ForwardedHeaders.clientResponse(head, clientVersion: clientVersion, keepAlive: true, upgrade: false)
            if clientVersion.minor >= 1 { context.write(wrapOutboundOut(.head(interim.head)), promise: nil) }
            return
        }
        cancelResponseDeadline()
        if head.status == .switchingProtocols {
            if upgradeRequested {
                startTunnel(head)
            } else {
                upstreamFailed(nil)
            }
            return
        }
        // After an upgrade request the decoder stops parsing, so the connection cannot go on.
        if upgradeRequested || !requestEnded { closeAfterResponse = true }
        let framed = ForwardedHeaders.clientResponse(
            head, clientVersion: clientVersion, keepAlive: keepAlive && !closeAfterResponse, upgrade: false)
        if framed.closeDelimited { closeAfterResponse = true }
        upstreamKeepAlive = head.isKeepAlive
        status = head.status.code
        responseStarted = true
        context.write(wrapOutboundOut(.head(framed.head)), promise: nil)
    }

    func upstreamBody(_ body: ByteBuffer) {
        guard phase == .forwarding else { return }
        bytesSent += body.readableBytes
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
    }

    func upstreamEnd(trailers received: HTTPHeaders?) {
        guard phase == .forwarding, responseStarted else { return }
        let trailers = ForwardedHeaders.trailers(received)
        detachUpstream(reuse: upstreamKeepAlive && requestEnded)
        let close = closeAfterResponse || !keepAlive
        finishExchange()
        if close {
            phase = .closed
            context.writeAndFlush(wrapOutboundOut(.end(trailers))).assumeIsolated().whenComplete { [self] _ in
                closeClient()
            }
        } else {
            phase = .idle
            clientDeadline.requestFinished()
            context.writeAndFlush(wrapOutboundOut(.end(trailers)), promise: nil)
            exchangeEnded()
        }
    }

    func upstreamReadComplete() {
        context.flush()
    }

    func upstreamWritable() {
        releaseHeldRead()
    }

    func upstreamFailed(_ error: (any Error)?) {
        guard phase == .forwarding else { return }
        let handler = upstream
        detachUpstream(reuse: false)
        if responseStarted {
            metrics?.countUpstreamError("reset")
            finishExchange()
            closeClient()
            return
        }
        // A pooled connection the upstream closed while idle: retry once on a fresh one. The
        // upstream may have run the request before it closed, so only a method that may run
        // twice (RFC 9110 §9.2.2) is retried, and only whole: no body bytes went out that could
        // not be sent again.
        if reusedConnection && !retried && method.isIdempotent && bodyBytes == 0 && requestEnded,
            let target = handler?.target
        {
            retried = true
            reusedConnection = false
            pending = [.end(nil)]
            connect(to: target)
            return
        }
        metrics?.countUpstreamError("reset")
        inFlightDone()
        respondLocally(.badGateway, "upstream closed the connection", close: !requestEnded)
    }

    // MARK: response header deadline

    func armResponseDeadline() {
        let deadline = NIODeadline.now() + configuration.responseHeaderTimeout
        responseDeadline = deadline
        if responseTimer == nil { scheduleResponseTimer(at: deadline) }
    }

    func cancelResponseDeadline() {
        responseDeadline = nil
    }

    /// Drops the scheduled check, which holds this handler until it fires (up to the response
    /// timeout after the connection closed).
    func cancelResponseTimer() {
        responseDeadline = nil
        responseTimer?.cancel()
        responseTimer = nil
    }

    private func scheduleResponseTimer(at deadline: NIODeadline) {
        responseTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            responseTimer = nil
            guard let due = responseDeadline else { return }
            if NIODeadline.now() < due {
                scheduleResponseTimer(at: due)
                return
            }
            responseDeadline = nil
            responseTimedOut()
        }
    }

    private func responseTimedOut() {
        guard phase == .forwarding, !responseStarted else { return }
        detachUpstream(reuse: false)
        metrics?.countUpstreamError("response_timeout")
        inFlightDone()
        respondLocally(.gatewayTimeout, "upstream sent no response in time", close: !requestEnded)
    }
}

extension HTTPMethod {
    /// Methods whose intended effect is the same when run twice (RFC 9110 §9.2.2).
    var isIdempotent: Bool {
        switch self {
        case .GET, .HEAD, .OPTIONS, .TRACE, .PUT, .DELETE: return true
        default: return false
        }
    }
}
