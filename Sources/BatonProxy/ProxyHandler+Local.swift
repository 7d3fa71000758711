import NIOCore
import NIOHTTP1

extension ProxyHandler {
    /// Answers the request from the proxy itself. With `close` the connection closes after the
    /// response (the request's framing cannot be trusted, or its body is not wanted); without,
    /// the rest of the request body is read and dropped and the connection stays usable.
    func respondLocally(_ responseStatus: HTTPResponseStatus, _ detail: String, close: Bool, allow: String? = nil) {
        detachUpstream(reuse: false)
        let closing = close || !keepAlive
        status = responseStatus.code
        let body = ErrorResponse.body(responseStatus, detail: detail, requestID: requestID, allocator: context.channel.allocator)
        bytesSent = body.readableBytes
        let head = ErrorResponse.head(
            responseStatus, bodyLength: body.readableBytes, requestID: requestID, close: closing, allow: allow)
        finishExchange()
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        if closing {
            phase = .closed
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { [self] _ in
                closeClient()
            }
        } else if requestEnded {
            phase = .idle
            clientDeadline.requestFinished()
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            exchangeEnded()
        } else {
            phase = .local
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    func inFlightDone() {
        guard inFlight else { return }
        inFlight = false
        route?.target?.leave()
        metrics?.inFlight.decrement()
    }

    /// Ends the exchange's accounting: in-flight count, metrics and the access log line.
    func finishExchange() {
        inFlightDone()
        guard !requestID.isEmpty else { return }
        let elapsed = NIODeadline.now() - startedAt
        if let metrics {
            metrics.countRequest(status: status)
            metrics.latency.record(Duration.nanoseconds(elapsed.nanoseconds))
        }
        if loop.shared.accessLog.enabled {
            loop.accessLog.append(
                AccessLogBuffer.Entry(
                    host: hostHeader, method: method.rawValue, path: uri, status: status, bytes: bytesSent,
                    durationNanoseconds: elapsed.nanoseconds, target: route?.target?.label ?? "-", requestID: requestID),
                timestamp: loop.timestamp())
        }
        requestID = ""
        route = nil
    }

    func closeClient() {
        phase = .closed
        context?.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            // I/O errors (reset by peer, ...): channelInactive does the accounting.
            context.close(promise: nil)
            return
        }
        guard phase != .closed else { return }
        // Decided now: the bytes that explain the error are at hand only during this read.
        let refusal = refusalStatus(parserError)
        if mustQueue {
            // Belongs to a pipelined request after the one being answered.
            queued.append(.parserError(refusal))
            return
        }
        self.parserError(refusal)
    }

    private func refusalStatus(_ error: HTTPParserError) -> HTTPResponseStatus {
        switch error {
        case .headerOverflow:
            return .requestHeaderFieldsTooLarge
        case .unknown where lastReadMentions("transfer-encoding") && !lastReadMentions("content-length"):
            // llhttp reports a transfer coding it refuses only as "unknown".
            return .notImplemented
        default:
            return .badRequest
        }
    }

    func parserError(_ refusal: HTTPResponseStatus) {
        switch phase {
        case .idle:
            resetExchange()
            startedAt = .now()
            method = .GET
            uri = "-"
            hostHeader = ""
            requestID = loop.nextRequestID()
            respondLocally(refusal, "malformed request", close: true)
        case .local:
            closeClient()
        case .connecting, .forwarding:
            // Bad framing inside a body: the upstream must never see the rest of it.
            detachUpstream(reuse: false)
            if responseStarted {
                finishExchange()
                closeClient()
            } else {
                inFlightDone()
                respondLocally(refusal, "malformed request body", close: true)
            }
        case .tunnelling, .closed:
            context.close(promise: nil)
        }
    }

    private func lastReadMentions(_ name: String) -> Bool {
        guard let buffer = clientDeadline.lastRead else { return false }
        return buffer.withUnsafeReadableBytes { bytes in
            let needle = Array(name.utf8)
            guard bytes.count >= needle.count else { return false }
            for start in 0...(bytes.count - needle.count) {
                var matched = true
                for offset in 0..<needle.count {
                    let byte = bytes[start + offset]
                    let folded = byte >= 65 && byte <= 90 ? byte | 0x20 : byte
                    if folded != needle[offset] {
                        matched = false
                        break
                    }
                }
                if matched { return true }
            }
            return false
        }
    }
}
