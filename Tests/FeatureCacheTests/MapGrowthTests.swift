import Foundation
import XCTest
@testable import FeatureCache

final class MapGrowthTests: XCTestCase {
    /// A 64 KiB initial map overflows many times; every record must still be there.
    func testTinyMapGrowsAndKeepsEveryRecord() throws {
        let store = try FeatureStore(path: temporaryStorePath(self),
                                     options: .init(create: true, initialMapSize: 64 << 10))
        XCTAssertEqual(store.mapSize, 64 << 10)
        let (ext, ds) = try writeSample(store, items: 0..<300, totalItems: 300, dim: 256, batchItems: 16)
        // 300 × 2 × 528 B = 317 kB of values cannot fit in 256 KiB: at least 3 doublings.
        XCTAssertGreaterThanOrEqual(store.mapSize, 512 << 10)
        let scan = try store.scan(ext: ext, ds: ds, split: .train, recipe: sampleRecipe.id)
        XCTAssertEqual(scan.rows, 600)
        XCTAssertEqual(Set(scan.items).count, 300)
        XCTAssertEqual(scan.values[599 * 256 + 255], Float(Float16(sampleValue(299, 1, 255))))
        XCTAssertEqual(try store.verify().checked, 600)
        XCTAssertTrue(try store.verify().ok)
    }

    func testMapLimitGivesAClearError() throws {
        let store = try FeatureStore(path: temporaryStorePath(self),
                                     options: .init(create: true, initialMapSize: 64 << 10, maxMapSize: 128 << 10))
        assertStoreError("map full at 128 KiB and the limit is 128 KiB") {
            try writeSample(store, items: 0..<300, totalItems: 300, dim: 256, batchItems: 300)
        }
    }
}
