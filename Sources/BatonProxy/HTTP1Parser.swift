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
/// in a plain struct behind a pointer; the head's Strings are made once, when it is complete,
/// and body parts are slices of the received buffer, never copies.
///
/// A head that arrives in pieces is the one thing copied: its bytes so far are carried over
/// and the next read appended to them, so every piece of a head lies in one region when the
/// head is built.
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

    /// Response parser: a request with `method` went out on the connection. Its response has
    /// no body when the method is HEAD or CONNECT, whatever its head says.
    func requestSent(_ method: HTTPMethod) {
        state.pointee.methods.append(method)
    }

    /// Parses `bytes`, appending the parts they complete to `parts`. After an upgrade nothing
    /// more is parsed: the bytes past its head are returned (empty when there are none).
    /// Throws `HTTPParserError` (or `NIOHTTPDecoderError.unsolicitedResponse`) for bytes llhttp
    /// refuses, after appending the parts that came before them.
    func parse(_ bytes: ByteBuffer, into parts: inout [Part]) throws -> ByteBuffer? {
        precondition(!upgraded, "HTTP/1 bytes parsed after an upgrade")
        var input: ByteBuffer
        let fresh: Int
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
        state.pointee.input = input
        state.pointee.startRead()
        // The callbacks append to the caller's array, which keeps its storage between reads.
        swap(&parts, &state.pointee.parts)
        defer {
            swap(&parts, &state.pointee.parts)
            state.pointee.input = ByteBuffer()
        }
        let outcome: llhttp_errno_t = input.withUnsafeReadableBytes { raw in
            guard let base = raw.baseAddress else { return HPE_OK }
            state.pointee.base = base
            let start = (base + fresh).assumingMemoryBound(to: CChar.self)
            return c_nio_llhttp_execute(parser, start, raw.count - fresh)
        }
        var leftover: ByteBuffer?
        switch outcome {
        case HPE_OK:
            break
        case HPE_PAUSED_UPGRADE:
            upgraded = true
            let position = input.withUnsafeReadableBytes { raw in
                UnsafeRawPointer(c_nio_llhttp_get_error_pos(parser)!) - raw.baseAddress!
            }
            leftover = input.getSlice(at: input.readerIndex + position, length: input.readableBytes - position)
        default:
            throw state.pointee.failure ?? HTTP1ParseState.error(outcome)
        }
        if !upgraded { try carryUnfinished(input) }
        return leftover
    }

    /// The stream ended: a body delimited by the connection's close ends here; a message cut
    /// short throws `HTTPParserError.invalidEOFState`.
    func finish(into parts: inout [Part]) throws {
        guard !upgraded else { return }
        let input = carried ?? ByteBuffer()
        carried = nil
        state.pointee.input = input
        state.pointee.startRead()
        swap(&parts, &state.pointee.parts)
        defer {
            swap(&parts, &state.pointee.parts)
            state.pointee.input = ByteBuffer()
        }
        let outcome = input.withUnsafeReadableBytes { raw in
            state.pointee.base = raw.baseAddress
            return c_nio_llhttp_finish(parser)
        }
        guard outcome == HPE_OK else { throw state.pointee.failure ?? HTTP1ParseState.error(outcome) }
    }

    /// Keeps the bytes of a head or trailer section that did not end with `input`, and moves
    /// the recorded pieces to count from their start.
    private func carryUnfinished(_ input: ByteBuffer) throws {
        guard let start = state.pointee.unfinishedStart else { return }
        let length = input.readableBytes - start
        // The pieces are bounded by the limits, but the whitespace around them is not: a
        // head that keeps growing without completing is refused the same way.
        guard length <= state.pointee.limits.headBytes + Self.carrySlack else {
            state.pointee.failure = HTTPParserError.headerOverflow
            throw HTTPParserError.headerOverflow
        }
        carried = input.getSlice(at: input.readerIndex + start, length: length)
        state.pointee.rebase(by: start)
    }

    /// Room for the separators and whitespace of a head beyond its counted pieces.
    private static let carrySlack = 8 * 1024
}
