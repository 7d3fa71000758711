import BatonTestSupport
import Foundation
import Glibc
import Synchronization
import Testing
import BatonOS
@testable import BatonStore

@Suite struct ImmutabilityTests {
    @Test(.enabled(if: isRoot, "requires root"))
    func republishingSameBytesSucceedsAndAddsNothing() throws {
        let temp = TempDir()
        defer { temp.remove() }
        let store = try ArtifactStore(root: temp.sub("root"))
        try Tree.sample(at: temp.sub("app"))
        let first = try store.publish("app:1", directory: temp.sub("app"))
        let before = snapshot(temp.sub("root"))
        let again = try store.publish("app:1", directory: temp.sub("app"))
        #expect(again.digest == first.digest)
        #expect(again.bytesAdded == 0)
        #expect(snapshot(temp.sub("root")) == before)
    }

    @Test(.enabled(if: isRoot, "requires root"))
    func otherBytesAreRefusedNamingBothDigestsAndChangeNothing() throws {
        let temp = TempDir()
        defer { temp.remove() }
        let store = try ArtifactStore(root: temp.sub("root"))
        try Tree.sample(at: temp.sub("app"))
        try Tree.sample(at: temp.sub("changed"), variant: "debug=1\n")
        let first = try store.publish("app:1", directory: temp.sub("app"))
        let before = snapshot(temp.sub("root"))
        let error = #expect(throws: BatonError.self) {
            try store.publish("app:1", directory: temp.sub("changed"))
        }
        #expect(error?.code == .conflict)
        #expect(error?.message.contains(first.digest) == true)
        let other = try ArtifactStore(root: temp.sub("other")).publish("x:1", directory: temp.sub("changed")).digest
        #expect(error?.message.contains(other) == true)
        #expect(snapshot(temp.sub("root")) == before)
        #expect(try store.resolve("app:1").digest == first.digest)
    }

    @Test(.enabled(if: isRoot, "requires root"))
    func aRemovedNameStaysBoundToItsDigest() throws {
        let temp = TempDir()
        defer { temp.remove() }
        let store = try ArtifactStore(root: temp.sub("root"))
        try Tree.sample(at: temp.sub("app"))
        try Tree.sample(at: temp.sub("changed"), variant: "x\n")
        let first = try store.publish("app:1", directory: temp.sub("app"))
        #expect(try store.remove("app:1") == ["app:1"])
        #expect(throws: BatonError.self) { try store.resolve("app:1") }
        #expect(throws: BatonError.self) { try store.publish("app:1", directory: temp.sub("changed")) }
        #expect(try store.publish("app:1", directory: temp.sub("app")).digest == first.digest)
    }

    @Test(.enabled(if: isRoot, "requires root"))
    func concurrentPublishersOfOneNameExactlyOneWins() throws {
        let temp = TempDir()
        defer { temp.remove() }
        let root = temp.sub("root")
        let publishers = 6
        for index in 0..<publishers { try Tree.sample(at: temp.sub("tree\(index)"), variant: "\(index)\n") }
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: publishers) { index in
            do {
                let store = try ArtifactStore(root: root)
                results.add(.success(try store.publish("race:1", directory: temp.sub("tree\(index)")).digest))
            } catch {
                results.add(.failure(error))
            }
        }
        let winners = results.all.compactMap { try? $0.get() }
        #expect(winners.count == 1)
        let store = try ArtifactStore(root: root)
        #expect(try store.resolve("race:1").digest == winners.first)
        #expect(try store.verify().isEmpty)
        for case .failure(let error) in results.all {
            #expect((error as? BatonError)?.code == .conflict)
        }
    }
}

/// Collects results from concurrent workers.
final class Results: Sendable {
    private let values = Mutex<[Result<String, any Error>]>([])

    func add(_ value: Result<String, any Error>) {
        values.withLock { $0.append(value) }
    }

    var all: [Result<String, any Error>] {
        values.withLock { $0 }
    }
}
