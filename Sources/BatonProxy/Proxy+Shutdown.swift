import NIOCore

extension Proxy {
    /// Stops accepting (`stopAccepting`) and lets every connection finish within `gracePeriod`,
    /// returning as soon as the last one has closed:
    /// - HTTP/1.1: requests in flight, and those already received behind them, are answered;
    ///   the last response says `Connection: close` and the connection ends after it. An idle
    ///   connection (or one that has sent nothing yet) stays open for its next request, which
    ///   is answered the same way, so no client's request meets a connection closing under it.
    /// - HTTP/2: a GOAWAY naming the last stream taken; open streams finish.
    /// - WebSockets and event streams run on to the end of the grace period, then are asked to
    ///   end cleanly (a close frame 1001 at a frame boundary, the last chunk), as a drain does.
    /// - A TLS handshake in progress goes on (within its timeout), then the connection ends as
    ///   above.
    /// Past the grace period idle connections close at once, and whatever is still open
    /// `goAwayGrace` later is closed outright. The event loop group stays up (its owner shuts it
    /// down after this returns).
    public func shutdown(gracePeriod: Duration, goAwayGrace: Duration = .seconds(1)) async {
        let first = stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        let graceEnds = ContinuousClock.now + gracePeriod
        await stopAccepting()
        shared.httpsListening(on: nil)
        // Never served: no loop has anything to finish (and the group may be gone already).
        guard shared.connections.any else { return }
        // Set before the loops are told: a connection accepted before its listener closed but
        // set up on its loop only after that loop was told learns it as it is set up.
        shared.connections.beginQuiescing()
        await onEveryLoop { $0.quiesce() }
        quiesced.store(true, ordering: .releasing)
        await waitForConnections(until: graceEnds)
        if shared.connections.open > 0 {
            await onEveryLoop { $0.graceEnded() }
            await waitForConnections(until: .now + goAwayGrace)
        }
        // What is still open is closed now, and the idle upstream connections with it, while
        // every event loop still runs to finish the closing.
        await onEveryLoop { $0.closeEverything() }
        await waitForConnections(until: .now + .seconds(5))
    }

    /// Client connections open now, over every listener (tests).
    var openConnections: Int { shared.connections.open }

    private func waitForConnections(until deadline: ContinuousClock.Instant) async {
        while shared.connections.open > 0, ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}
