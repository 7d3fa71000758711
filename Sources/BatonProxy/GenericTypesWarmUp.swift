import NIOCore
import NIOHTTP1

/// Makes the Swift runtime build the metadata of the generic types every connection needs,
/// once, on the thread that creates the proxy, before any event loop accepts.
///
/// Why: a daemon that takes over listeners under load (a hand-off) gets its first connections
/// on every event loop at the same instant, and each loop then instantiates
/// `ByteToMessageHandler<HTTPRequestDecoder>` (the request decoder then) for the first time. Twice in CI such a
/// successor died with SIGSEGV inside the runtime's check of that type's generic requirement
/// (`swift_conformsToProtocol` on a null metadata pointer, under
/// `__swift_instantiateConcreteTypeFromMangledName` from `ClientPipelines.http1Protocol`): a race
/// between first instantiations that Baton cannot fix, and avoids by making the first one here.
enum GenericTypesWarmUp {
    static func run() {
        keep(ClientRequestDecoder.self)
        keep(UpstreamResponseDecoder())
        keep(NIOAny(HTTPServerRequestPart.end(nil)))
        keep(NIOAny(HTTPServerResponsePart.end(nil)))
        keep(NIOAny(HTTPClientRequestPart.end(nil)))
        keep(NIOAny(HTTPClientResponsePart.end(nil)))
        keep(NIOAny(RequestPart.end(nil)))
        keep(NIOAny(UpstreamResponsePart.end(nil)))
        keep([ResponsePart.end(nil)])
        keep([UpstreamRequestPart.end(nil)])
    }

    /// Opaque to the optimiser, so the values above (and their metadata) are really made.
    @inline(never)
    private static func keep(_ value: Any) {
        withExtendedLifetime(value) {}
    }
}
