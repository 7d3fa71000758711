import NIOCore

/// A first-in, first-out queue with no storage while it is empty: it allocates when the first
/// element arrives and lets go when the last leaves. For queues that are nearly always empty
/// on objects kept per connection (a `CircularBuffer` allocates even when empty, about 64
/// bytes per idle connection), while still taking and removing in constant time when
/// something does queue.
struct OnDemandQueue<Element> {
    private var storage: CircularBuffer<Element>?

    var isEmpty: Bool { storage?.isEmpty ?? true }
    var first: Element? { storage?.first }

    mutating func append(_ element: Element) {
        if storage == nil { storage = CircularBuffer(initialCapacity: 1) }
        storage!.append(element)
    }

    @discardableResult
    mutating func removeFirst() -> Element {
        let element = storage!.removeFirst()
        if storage!.isEmpty { storage = nil }
        return element
    }

    mutating func removeAll() {
        storage = nil
    }

    func contains(where predicate: (Element) -> Bool) -> Bool {
        storage?.contains(where: predicate) ?? false
    }
}
