@testable import BatonProxy
import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import Testing

/// A head-only response leaves as the single HEADERS frame gRPC's trailers-only form needs;
/// anything else passes in order.
@Suite struct TrailersOnlyResponseTests {
    static let head = HTTP2Frame.FramePayload.headers(.init(headers: HPACKHeaders([(":status", "200"), ("grpc-status", "5")])))
    static let emptyEnd = HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(ByteBuffer()), endStream: true))

    private func written(_ channel: EmbeddedChannel) throws -> [HTTP2Frame.FramePayload] {
        var frames: [HTTP2Frame.FramePayload] = []
        while let frame = try channel.readOutbound(as: HTTP2Frame.FramePayload.self) { frames.append(frame) }
        return frames
    }

    @Test func aHeadFollowedByAnEmptyEndIsOneFrameThatEndsTheStream() throws {
        let channel = EmbeddedChannel(handler: TrailersOnlyResponse())
        let headWritten = channel.eventLoop.makePromise(of: Void.self)
        channel.write(Self.head, promise: headWritten)
        try channel.writeAndFlush(Self.emptyEnd).wait()
        try headWritten.futureResult.wait()
        let frames = try written(channel)
        #expect(frames.count == 1)
        guard case .headers(let headers) = frames.first else {
            Issue.record("expected HEADERS, got \(frames)")
            return
        }
        #expect(headers.endStream)
        #expect(headers.headers.first(name: "grpc-status") == "5")
    }

    @Test func aHeadWithABodyOrAFlushBetweenPassesAsIs() throws {
        let channel = EmbeddedChannel(handler: TrailersOnlyResponse())
        channel.write(Self.head, promise: nil)
        channel.write(HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(ByteBuffer(string: "x")))), promise: nil)
        channel.writeAndFlush(Self.emptyEnd, promise: nil)
        var frames = try written(channel)
        #expect(frames.count == 3)
        if case .headers(let headers) = frames.first { #expect(!headers.endStream) } else { Issue.record("\(frames)") }

        channel.writeAndFlush(Self.head, promise: nil)
        #expect(try written(channel).count == 1, "a flush lets a held head go")
        channel.writeAndFlush(Self.emptyEnd, promise: nil)
        frames = try written(channel)
        #expect(frames.count == 1)
        if case .data(let end) = frames.first { #expect(end.endStream) } else { Issue.record("\(frames)") }
    }
}
