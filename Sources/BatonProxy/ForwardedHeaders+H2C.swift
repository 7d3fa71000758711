import NIOHTTP1

extension ForwardedHeaders {
    /// `TE: trailers` on a request to an h2c upstream, when the client's TE lists `trailers`.
    /// TE is hop-by-hop and dropped on its way to HTTP/1.1 upstreams, but HTTP/2 keeps exactly
    /// this one value (RFC 9113 §8.2.2), and gRPC servers refuse a call without it: it says
    /// the client takes trailers, which the proxy passes on (to an HTTP/1.1 client as the
    /// trailer section of a chunked response).
    static func keepTrailersTE(of client: RequestHead, in upstream: inout RequestHead) {
        var listsTrailers = false
        for value in client.headers["te"] {
            forEachListToken(value) { token in
                // A coding may carry parameters (`gzip;q=0.5`); `trailers` takes none.
                if equalsLowercase(token, "trailers") { listsTrailers = true }
            }
        }
        if listsTrailers { upstream.headers.add(name: "te", value: "trailers") }
    }
}
