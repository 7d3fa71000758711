import CNIOLLHTTP
import NIOCore
import NIOHTTP1

/// HTTP/1.x messages read from a byte stream by llhttp: the same parser, version, strictness
/// and limits as NIO's `HTTPDecoder` (SwiftNIO builds llhttp as its `CNIOLLHTTP` module and
/// Baton calls it directly), so what NIO's decoder refuses is refused here too, and
/// `HTTP1ParserTests` holds the two to the same parts and errors.
///
/// What differs is the cost. NIO's decoder reaches Swift through a closure per header name
/// and per value, each touching a class's properties under exclusivity checks and copying the
/// bytes into a buffer before they become Strings (callgrind: about 10k instructions per
/// proxied exchange in those callbacks alone, on top of a `ByteToMessageHandler`'s
/// cumulation). Here llhttp's callbacks only note where each piece lies in the received bytes,
/// in a plain struct behind a pointer; a complete head keeps its fields in the bytes they came
/// in (`HeaderFields`: only the request target becomes a String), and body parts are slices of
/// the received buffer, never copies.
///
/// A head that arrives in pieces is the one thing copied: its bytes so far are carried over
/// and the next read appended to them, so every piece of a head lies in one region when the
/// head is built. They are copied out of the receive buffer into storage of the parser's own:
/// a slice of it would keep the channel's buffer from being reused by the next read, and NIO
/// then allocates another and keeps both for the connection's life (massif: 1.5 KiB of
/// receive buffers per idle connection after one browser-sized request, not 1 KiB).
final class HTTP1Parser {
    enum Kind { case request, response }

    /// What a message turns into, in order.
    enum Part {
        case requestHead(RequestHead)
        case responseHead(ResponseHead)
        case body(ByteBuffer)
        /// The message ended, with its trailers if it had any.
        case end(HTTPHeaders?)
    }

    struct Limits {
        /// Bytes of one header name, value or request target.
        var fieldBytes: Int
        /// Bytes of the request target and all header names and values of one message,
        /// trailers included.
        var headBytes: Int

        /// NIO's defaults (80 KiB), what Baton's upstream decoder has always had.
        static let nioDefaults = Limits(fieldBytes: 80 * 1024, headBytes: 80 * 1024)
    }

    private let parser: UnsafeMutablePointer<llhttp_t>
    private let state: UnsafeMutablePointer<HTTP1ParseState>
    /// The bytes of a head or trailer section not complete when the last read ended, from
    /// its first recorded piece on.
    private var carried: ByteBuffer?
    /// Set by an upgrade (or `CONNECT`) message's end: what follows is another protocol's.
    private(set) var upgraded = false
    /// Set once llhttp refused bytes or the input ended: nothing more is parsed.
    private var stopped = false
    /// Parts completed and not handed on yet.
    private var parts: [Part] = []

    init(_ kind: Kind, limits: Limits) {
        parser = .allocate(capacity: 1)
        state = .allocate(capacity: 1)
        state.initialize(to: HTTP1ParseState(kind: kind, limits: limits))
        c_nio_llhttp_init(parser, kind == .request ? HTTP_REQUEST : HTTP_RESPONSE, HTTP1ParseState.settings)
        parser.pointee.data = UnsafeMutableRawPointer(state)
    }

    deinit {
        state.deinitialize(count: 1)
        state.deallocate()
        parser.deallocate()
    }

    /// Between messages, with nothing carried over: lets go of the storage kept for the next
    /// message's parts, which an idle keep-alive connection would otherwise hold; the next
    /// read allocates it again.
    func releaseIdleStorage() {
        guard carried == nil, parts.isEmpty else { return }
        parts = []
        state.pointee.parts = []
    }

    /// Response parser: a request with `method` went out on the connection. Its response has
    /// no body when the method is HEAD or CONNECT, whatever its head says.
    func requestSent(_ method: HTTPMethod) {
        state.pointee.methods.append(method)
    }

    /// A decoder's read: parses `bytes` (unless parsing has stopped), hands each part
    /// completed to `deliver`, in order, then the error that stopped parsing, if any, to
    /// `failed`. Returns the bytes past an upgrade's head, when one just ended. The parts are
    /// handed on only after llhttp returns: a handler they reach may close the connection or
    /// cause another read.
    func read(_ bytes: ByteBuffer, deliver: (Part) -> Void, failed: (any Error) -> Void) -> ByteBuffer? {
        guard !stopped, !upgraded else { return nil }
        var leftover: ByteBuffer?
        let failure: (any Error)?
        do {
            leftover = try parse(bytes)
            failure = nil
        } catch {
            stopped = true
            failure = error
        }
        handOn(deliver)
        if let failure { failed(failure) }
        return leftover
    }

    /// The input ended: a body delimited by the connection's close ends here (`deliver`); a
    /// message cut short is an error (`failed`: `HTTPParserError.invalidEOFState`). Nothing
    /// is parsed after it.
    func endOfInput(deliver: (Part) -> Void, failed: (any Error) -> Void) {
        guard !stopped else { return }
        stopped = true
        guard !upgraded else { return }
        let input = carried ?? ByteBuffer()
        carried = nil
        let outcome = run(over: input) { raw in c_nio_llhttp_finish(parser) }
        handOn(deliver)
        if outcome != HPE_OK { failed(state.pointee.failure ?? HTTP1ParseState.error(outcome)) }
    }

    /// Parses `bytes` after what was carried over; returns the bytes past an upgrade's head.
    /// Throws `HTTPParserError` (or `NIOHTTPDecoderError.unsolicitedResponse`) for bytes
    /// llhttp refuses; the parts before them are in `parts`.
    private func parse(_ bytes: ByteBuffer) throws -> ByteBuffer? {
        var input: ByteBuffer
        let fresh: Int
        let inputIsOwn = carried != nil
        if var carried {
            self.carried = nil
            fresh = carried.readableBytes
            var more = bytes
            carried.writeBuffer(&more)
            input = carried
        } else {
            fresh = 0
            input = bytes
        }
        let outcome = run(over: input) { raw in
            guard let base = raw.baseAddress else { return HPE_OK }
            return c_nio_llhttp_execute(parser, (base + fresh).assumingMemoryBound(to: CChar.self), raw.count - fresh)
        }
        switch outcome {
        case HPE_OK:
            try carryUnfinished(input, inputIsOwn: inputIsOwn)
            return nil
        case HPE_PAUSED_UPGRADE:
            upgraded = true
            let position = input.withUnsafeReadableBytes { raw in
                UnsafeRawPointer(c_nio_llhttp_get_error_pos(parser)!) - raw.baseAddress!
            }
            return input.getSlice(at: input.readerIndex + position, length: input.readableBytes - position)
        default:
            throw state.pointee.failure ?? HTTP1ParseState.error(outcome)
        }
    }

    /// Runs llhttp (`body`) over `input`, its callbacks appending to `parts` (whose storage
    /// is kept between reads).
    private func run(over input: ByteBuffer, _ body: (UnsafeRawBufferPointer) -> llhttp_errno_t) -> llhttp_errno_t {
        state.pointee.input = input
        state.pointee.startRead()
        swap(&parts, &state.pointee.parts)
        // A head, a body and an end at once, without growing (released while idle).
        if state.pointee.parts.capacity == 0 { state.pointee.parts.reserveCapacity(4) }
        defer {
            swap(&parts, &state.pointee.parts)
            state.pointee.input = ByteBuffer()
        }
        return input.withUnsafeReadableBytes { raw in
            state.pointee.base = raw.baseAddress
            return body(raw)
        }
    }

    /// Hands on the parts parsed. The array is taken first: a handler they reach may cause
    /// another read to be parsed meanwhile.
    private func handOn(_ deliver: (Part) -> Void) {
        guard !parts.isEmpty else { return }
        var ready: [Part] = []
        swap(&ready, &parts)
        for part in ready { deliver(part) }
        ready.removeAll(keepingCapacity: true)
        if parts.isEmpty { parts = ready }
    }

    /// Keeps the bytes of a head or trailer section that did not end with `input`, and moves
    /// the recorded pieces to count from their start. Copied when `input` is the channel's
    /// receive buffer; a slice when it is already the parser's own (carried before), so a
    /// head that comes a byte at a time is copied once, not once per byte.
    private func carryUnfinished(_ input: ByteBuffer, inputIsOwn: Bool) throws {
        guard let start = state.pointee.unfinishedStart else { return }
        let length = input.readableBytes - start
        // The pieces are bounded by the limits, but the whitespace around them is not: a
        // head that keeps growing without completing is refused the same way.
        guard length <= state.pointee.limits.headBytes + Self.carrySlack else {
            state.pointee.failure = HTTPParserError.headerOverflow
            throw HTTPParserError.headerOverflow
        }
        let unfinished = input.getSlice(at: input.readerIndex + start, length: length)!
        if inputIsOwn {
            carried = unfinished
        } else {
            var own = ByteBufferAllocator().buffer(capacity: length)
            own.writeImmutableBuffer(unfinished)
            carried = own
        }
        state.pointee.rebase(by: start)
    }

    /// Room for the separators and whitespace of a head beyond its counted pieces.
    private static let carrySlack = 8 * 1024
}
