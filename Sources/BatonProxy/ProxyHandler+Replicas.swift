extension ProxyHandler {
    /// Passive ejection (`--replicas`): a connect to one replica failed, so nothing of the
    /// request reached it and it may go to another. The failed replica is skipped for a while
    /// and the request is connected to the next one not ejected; false when the app has no
    /// other replica left to try (the caller answers 502/504 as for a single target).
    func connectToAnotherReplica(_ exchange: Exchange) -> Bool {
        guard let ring = exchange.ring,
            let next = ring.replacement(for: exchange.target, tried: exchange.tried)
        else { return false }
        exchange.metrics.countUpstreamError("replica_skipped")
        exchange.retarget(to: next)
        openUpstream(exchange)
        return true
    }
}
