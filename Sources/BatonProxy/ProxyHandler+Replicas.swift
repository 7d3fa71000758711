extension ProxyHandler {
    /// Passive ejection (`--replicas`): a connect to one replica failed, so nothing of the
    /// request reached it and it may go to another. The failed replica is skipped for a while
    /// and the request is connected to the next one not ejected; false when the app has no
    /// other replica left to try (the caller answers 502/504 as for a single target).
    func connectToAnotherReplica(_ exchange: Exchange) -> Bool {
        guard let ring = exchange.ring,
            let next = ring.replacement(for: exchange.target, tried: exchange.tried, eject: true)
        else { return false }
        exchange.metrics.countUpstreamError("replica_skipped")
        exchange.retarget(to: next)
        openUpstream(exchange)
        return true
    }

    /// A replica closed the connection before any byte of the response (a replica dying with
    /// the request in its hands): a request that may run twice (RFC 9110 §9.2.2), sent whole
    /// with no body, goes once to each other replica, as a pooled connection's request is
    /// retried once. Not ejected for it: the daemon drops a replica that died, and one reset
    /// may be the app's answer to one request.
    func retryOnAnotherReplica(_ exchange: Exchange) -> Bool {
        guard let ring = exchange.ring, exchange.request.method.isIdempotent, exchange.requestEnded, exchange.bodyBytes == 0,
            let next = ring.replacement(for: exchange.target, tried: exchange.tried, eject: false)
        else { return false }
        exchange.metrics.countUpstreamError("replica_reset")
        exchange.retarget(to: next)
        exchange.connection = .retry
        exchange.response = .awaitingHead(deadline: nil)
        exchange.pending = [.end(nil)]
        connect(exchange)
        return true
    }
}
