import Foundation
import XCTest
@testable import FeatureCache

final class ConcurrencyTests: XCTestCase {
    /// A reader thread scanning while a writer commits batches (and grows a tiny map under it)
    /// sees whole batches only: row counts are always multiples of the batch.
    func testReaderNeverSeesAPartialBatch() throws {
        let store = try FeatureStore(path: temporaryStorePath(self), options: .init(create: true, initialMapSize: 64 << 10))
        let dim = 64, batch = 8, batches = 30
        let record = sampleExtractor(dim: dim)
        let ext = try store.registerExtractor(record)
        try store.registerRecipe(sampleRecipe)
        let ds = try store.registerDataset(name: "toy", classnames: ["a", "b", "c"], items: [.train: sampleItems(batch * batches)]).id

        let shared = Shared()
        let finished = DispatchSemaphore(value: 0)

        let reader = Thread {
            while true {
                let done = shared.with { $0.writerDone }
                do {
                    let rows = try store.scan(ext: ext, ds: ds, split: .train, recipe: sampleRecipe.id).rows
                    shared.with { $0.observed.append(rows) }
                } catch {
                    shared.with { $0.errors.append("\(error)") }
                }
                if done { break }
            }
            finished.signal()
        }
        let writer = Thread {
            do {
                let w = try FeatureWriter(store: store, ext: ext, ds: ds, split: .train, recipe: sampleRecipe.id, augmentedViews: 1,
                                          batchItems: batch)
                for i in 0..<(batch * batches) {
                    try sampleFeatures(item: i, views: 2, dim: dim).withUnsafeBufferPointer {
                        try w.add(item: UInt32(i), features: $0, views: [sampleView(0), sampleView(1)])
                    }
                }
                try w.finish()
            } catch {
                shared.with { $0.errors.append("\(error)") }
            }
            shared.with { $0.writerDone = true }
            finished.signal()
        }
        reader.start()
        writer.start()
        finished.wait()
        finished.wait()
        let (errors, observed) = shared.with { ($0.errors, $0.observed) }
        XCTAssertEqual(errors, [])
        XCTAssertFalse(observed.isEmpty)
        for rows in observed { XCTAssertEqual(rows % (2 * batch), 0, "scan saw \(rows) rows") }
        XCTAssertEqual(observed.last, 2 * batch * batches)  // the scan after the writer finished sees everything
        XCTAssertGreaterThan(store.mapSize, 64 << 10)
    }
}

/// State shared by the test's two threads, behind a lock.
private final class Shared: @unchecked Sendable {
    struct State {
        var errors: [String] = []
        var observed: [Int] = []
        var writerDone = false
    }
    private let lock = NSLock()
    private var state = State()
    func with<T>(_ body: (inout State) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&state)
    }
}
