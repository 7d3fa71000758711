import Testing

@testable import BatonProxy

/// The queue of pipelined events: first in, first out, across emptying and filling again, as
/// the proxy uses it between the responses of a pipelining client.
@Suite struct OnDemandQueueTests {
    @Test func takesInOrderAcrossEmptying() {
        var queue = OnDemandQueue<Int>()
        #expect(queue.isEmpty)
        #expect(queue.first == nil)
        for round in 0..<3 {
            for value in 0..<40 { queue.append(round * 100 + value) }
            #expect(queue.first == round * 100)
            var taken: [Int] = []
            while let next = queue.first {
                #expect(queue.removeFirst() == next)
                taken.append(next)
            }
            #expect(taken == Array(round * 100..<round * 100 + 40))
            #expect(queue.isEmpty)
        }
    }

    @Test func containsAndRemoveAll() {
        var queue = OnDemandQueue<String>()
        #expect(!queue.contains { _ in true })
        queue.append("head")
        queue.append("end")
        #expect(queue.contains { $0 == "end" })
        #expect(!queue.contains { $0 == "body" })
        queue.removeAll()
        #expect(queue.isEmpty)
        #expect(!queue.contains { _ in true })
        queue.append("again")
        #expect(queue.first == "again")
    }
}
