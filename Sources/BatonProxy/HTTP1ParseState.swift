import CNIOLLHTTP
import NIOCore
import NIOHTTP1

/// What llhttp's callbacks record for `HTTP1Parser`: where the request target and each header
/// name and value lie in the bytes being parsed, and the parts completed so far. A struct
/// behind a pointer (llhttp's `data`), so a callback is a few stores with no reference
/// counting or exclusivity checks. A complete head keeps its fields in the bytes they came in
/// (`HeaderFields`); only the request target becomes a String.
struct HTTP1ParseState {
    /// A piece of the bytes being parsed: an offset from `base`, and a length.
    struct Span {
        var start = 0
        var count = 0
    }

    /// Which piece the last callback was in: llhttp reports a piece split across reads in
    /// several calls, which extend it.
    private enum Piece { case none, target, name, value }

    let kind: HTTP1Parser.Kind
    let limits: HTTP1Parser.Limits
    /// The region being parsed (including carried bytes), and its first byte.
    var input = ByteBuffer()
    var base: UnsafeRawPointer?
    private var target = Span()
    /// The fields of the head (or trailers) in progress, as offsets from `base` until the head
    /// is complete; then they become the head's own (`headerFields`), so no array is kept
    /// between messages.
    private var fields: [HeaderFields.Field] = []
    private var piece = Piece.none
    private var pieceBytes = 0
    private var headBytes = 0
    private var inTrailers = false
    private var informational = false
    /// Where the head or trailer section in progress began, while one is.
    private(set) var unfinishedStart: Int?
    /// Where the parts go: the parser's array, for the length of a parse.
    var parts: [HTTP1Parser.Part] = []
    /// Where the last body part ended, when it was the last part: the next piece that starts
    /// there extends it.
    private var bodyEnd: Int?
    /// Response parser: methods of the requests sent and not answered yet, oldest first.
    var methods = MethodQueue()
    /// Why a callback stopped llhttp, when llhttp's own code would not say it well.
    var failure: (any Error)?

    init(kind: HTTP1Parser.Kind, limits: HTTP1Parser.Limits) {
        self.kind = kind
        self.limits = limits
    }

    /// The unfinished head's bytes now start at offset 0 of the next region parsed.
    mutating func rebase(by offset: Int) {
        target.start -= offset
        for index in fields.indices {
            fields[index].nameStart -= Int32(offset)
            fields[index].valueStart -= Int32(offset)
        }
        unfinishedStart = 0
    }

    // MARK: callbacks

    /// Room for a browser's request head at once: growing from nothing would allocate again
    /// at 1, 2, 4, 8 and 16 fields.
    private static let typicalFieldCount = 16

    private mutating func messageBegan() {
        target = Span()
        if fields.capacity == 0 {
            fields.reserveCapacity(Self.typicalFieldCount)
        } else {
            fields.removeAll(keepingCapacity: true)
        }
        piece = .none
        headBytes = 0
        inTrailers = false
        unfinishedStart = nil
    }

    private mutating func record(_ kind: Piece, _ at: UnsafePointer<CChar>?, _ length: Int) -> Int32 {
        let offset = UnsafeRawPointer(at!) - base!
        if kind == piece {
            // The same piece, continued in the next read.
            switch kind {
            case .target: target.count += length
            case .name: fields[fields.count - 1].nameCount += Int32(length)
            case .value: fields[fields.count - 1].valueCount += Int32(length)
            case .none: break
            }
            pieceBytes += length
        } else {
            switch kind {
            case .target:
                target = Span(start: offset, count: length)
            case .name:
                fields.append(HeaderFields.Field(nameStart: Int32(offset), nameCount: Int32(length), valueStart: 0, valueCount: 0))
            case .value:
                // llhttp lets an empty name through; NIO's decoder refuses it, and so does Baton.
                guard let last = fields.last, last.nameCount > 0 else {
                    failure = HTTPParserError.invalidHeaderToken
                    return -1
                }
                fields[fields.count - 1].valueStart = Int32(offset)
                fields[fields.count - 1].valueCount = Int32(length)
            case .none:
                break
            }
            piece = kind
            pieceBytes = length
            if unfinishedStart == nil { unfinishedStart = offset }
        }
        headBytes += length
        guard pieceBytes <= limits.fieldBytes, headBytes <= limits.headBytes else {
            failure = HTTPParserError.headerOverflow
            return -1
        }
        return 0
    }

    private func string(_ span: Span) -> String {
        String(decoding: UnsafeRawBufferPointer(start: base! + span.start, count: span.count), as: UTF8.self)
    }

    private func string(start: Int32, count: Int32) -> String {
        string(Span(start: Int(start), count: Int(count)))
    }

    /// The fields recorded, in a slice of the input from the first name to the last value,
    /// with the recorded offsets moved to count from the slice's start: the array becomes
    /// the head's, and the next head records into a new one.
    private mutating func headerFields() -> HeaderFields {
        guard let first = fields.first, let last = fields.last else { return HeaderFields() }
        let start = first.nameStart
        let end = max(last.nameStart + last.nameCount, last.valueStart + last.valueCount)
        let storage = input.getSlice(at: input.readerIndex + Int(start), length: Int(end - start))!
        for index in fields.indices {
            // An empty value has no position of its own.
            if fields[index].valueCount == 0 { fields[index].valueStart = fields[index].nameStart + fields[index].nameCount }
            fields[index].nameStart -= start
            fields[index].valueStart -= start
        }
        var taken: [HeaderFields.Field] = []
        swap(&taken, &fields)
        return HeaderFields(storage: storage, fields: taken)
    }

    /// A trailer section, as NIO's type: trailers are rare, and go through as they came.
    private func trailers() -> HTTPHeaders {
        var list: [(String, String)] = []
        list.reserveCapacity(fields.count)
        for field in fields {
            list.append((string(start: field.nameStart, count: field.nameCount), string(start: field.valueStart, count: field.valueCount)))
        }
        return HTTPHeaders(list)
    }

    /// 0: a body may follow; 1: none does, whatever the head says; -1: refused.
    private mutating func headComplete(_ parser: UnsafeMutablePointer<llhttp_t>) -> Int32 {
        let major = Int(parser.pointee.http_major)
        let minor = Int(parser.pointee.http_minor)
        guard major == 1 else {
            failure = HTTPParserError.invalidVersion
            return -1
        }
        let version = HTTPVersion(major: major, minor: minor)
        // Judged now: once the message ends, llhttp has forgotten the head's flags.
        let keepAlive = c_nio_llhttp_should_keep_alive(parser) != 0
        var skipBody = false
        switch kind {
        case .request:
            let head = RequestHead(
                version: version, method: Self.method(parser.pointee.method), uri: string(target),
                headers: headerFields(), isKeepAlive: keepAlive)
            parts.append(.requestHead(head))
        case .response:
            let status = Int(parser.pointee.status_code)
            informational = (100..<200).contains(status) && status != 101
            if informational {
                // An interim response comes before the final one to the same request.
                skipBody = true
            } else {
                guard let method = methods.popFirst() else {
                    failure = NIOHTTPDecoderError.unsolicitedResponse
                    return -1
                }
                skipBody = method.isHEAD || method.isCONNECT || status < 200 || status == 204 || status == 304
            }
            parts.append(.responseHead(ResponseHead(
                version: version, status: .init(statusCode: status), headers: headerFields(), isKeepAlive: keepAlive)))
        }
        fields.removeAll(keepingCapacity: true)
        piece = .none
        inTrailers = true
        unfinishedStart = nil
        return skipBody ? 1 : 0
    }

    private mutating func body(_ at: UnsafePointer<CChar>?, _ length: Int) {
        var offset = UnsafeRawPointer(at!) - base!
        var length = length
        // Pieces of one body that lie end to end (chunks whose framing llhttp skipped are
        // not) become one part.
        if let bodyEnd, bodyEnd == offset, case .body(let previous) = parts.last {
            offset -= previous.readableBytes
            length += previous.readableBytes
            parts.removeLast()
        }
        parts.append(.body(input.getSlice(at: input.readerIndex + offset, length: length)!))
        bodyEnd = offset + length
    }

    /// Called before each parse: a body part of an earlier read cannot be extended.
    mutating func startRead() { bodyEnd = nil }

    private mutating func messageComplete(_ parser: UnsafeMutablePointer<llhttp_t>) {
        // An interim response has no end of its own: the final response follows.
        if !informational {
            parts.append(.end(inTrailers && !fields.isEmpty ? trailers() : nil))
        }
        informational = false
        fields.removeAll(keepingCapacity: true)
        piece = .none
        inTrailers = false
        unfinishedStart = nil
        // llhttp keeps a message's remaining length past its end; NIO's decoder clears it too.
        parser.pointee.content_length = 0
    }

    // MARK: llhttp's side

    private static func state(_ parser: UnsafeMutablePointer<llhttp_t>?) -> UnsafeMutablePointer<HTTP1ParseState> {
        parser!.pointee.data!.assumingMemoryBound(to: HTTP1ParseState.self)
    }

    /// One table of callbacks for every parser: they find their state through `data`.
    nonisolated(unsafe) static let settings: UnsafeMutablePointer<llhttp_settings_t> = {
        let settings = UnsafeMutablePointer<llhttp_settings_t>.allocate(capacity: 1)
        c_nio_llhttp_settings_init(settings)
        settings.pointee.on_message_begin = { parser in
            state(parser).pointee.messageBegan()
            return 0
        }
        settings.pointee.on_url = { parser, at, length in state(parser).pointee.record(.target, at, length) }
        settings.pointee.on_header_field = { parser, at, length in state(parser).pointee.record(.name, at, length) }
        settings.pointee.on_header_value = { parser, at, length in state(parser).pointee.record(.value, at, length) }
        settings.pointee.on_headers_complete = { parser in state(parser).pointee.headComplete(parser!) }
        settings.pointee.on_body = { parser, at, length in
            state(parser).pointee.body(at, length)
            return 0
        }
        settings.pointee.on_message_complete = { parser in
            state(parser).pointee.messageComplete(parser!)
            return 0
        }
        return settings
    }()

    /// The error NIO's decoder reports for llhttp's `code`.
    static func error(_ code: llhttp_errno_t) -> HTTPParserError {
        switch code {
        case HPE_INTERNAL: .invalidInternalState
        case HPE_STRICT: .strictModeAssertion
        case HPE_LF_EXPECTED: .lfExpected
        case HPE_UNEXPECTED_CONTENT_LENGTH: .unexpectedContentLength
        case HPE_CLOSED_CONNECTION: .closedConnection
        case HPE_INVALID_METHOD: .invalidMethod
        case HPE_INVALID_URL: .invalidURL
        case HPE_INVALID_CONSTANT: .invalidConstant
        case HPE_INVALID_VERSION: .invalidVersion
        case HPE_INVALID_HEADER_TOKEN, HPE_UNEXPECTED_SPACE: .invalidHeaderToken
        case HPE_INVALID_CONTENT_LENGTH: .invalidContentLength
        case HPE_INVALID_CHUNK_SIZE: .invalidChunkSize
        case HPE_INVALID_STATUS: .invalidStatus
        case HPE_INVALID_EOF_STATE: .invalidEOFState
        case HPE_PAUSED, HPE_PAUSED_UPGRADE, HPE_PAUSED_H2_UPGRADE: .paused
        default: .unknown
        }
    }

    /// llhttp's method number as NIO names it.
    private static func method(_ code: UInt8) -> HTTPMethod {
        switch llhttp_method(rawValue: UInt32(code)) {
        case HTTP_GET: .GET
        case HTTP_HEAD: .HEAD
        case HTTP_POST: .POST
        case HTTP_PUT: .PUT
        case HTTP_DELETE: .DELETE
        case HTTP_OPTIONS: .OPTIONS
        case HTTP_PATCH: .PATCH
        case HTTP_CONNECT: .CONNECT
        case HTTP_TRACE: .TRACE
        // Where NIO's decoder names a method otherwise than by its name: M-SEARCH is MSEARCH,
        // and SOURCE a raw method.
        case HTTP_MSEARCH: .MSEARCH
        case HTTP_SOURCE: .RAW(value: "SOURCE")
        case let other: HTTPMethod(rawValue: String(cString: c_nio_llhttp_method_name(other)))
        }
    }
}
