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

/// A run commits by work done, and a full disk is named in one line with nothing committed lost.
final class CommitBoundTests: XCTestCase {
    /// Two items written `commitSeconds` apart are committed although `batchItems` is far off.
    func testPendingWorkIsCommittedAfterCommitSeconds() throws {
        let store = try FeatureStore(path: temporaryStorePath(self), options: .init(create: true))
        let ext = try store.registerExtractor(sampleExtractor())
        let ds = try store.registerDataset(name: "toy", classnames: ["a", "b", "c"], items: [.train: sampleItems(6)]).id
        let writer = try FeatureWriter(store: store, ext: ext, ds: ds, split: .train, batchItems: 512, commitSeconds: 0.2)
        try writer.add(item: 0, features: sampleFeatures(item: 0, views: 1, dim: 8))
        XCTAssertNil(try store.job(ext: ext, ds: ds, split: .train), "one item in 0.2 s: nothing committed yet")
        Thread.sleep(forTimeInterval: 0.25)
        try writer.add(item: 1, features: sampleFeatures(item: 1, views: 1, dim: 8))
        XCTAssertEqual(try store.job(ext: ext, ds: ds, split: .train)?.nextItem, 2)
        try writer.add(item: 2, features: sampleFeatures(item: 2, views: 1, dim: 8))
        XCTAssertEqual(try store.job(ext: ext, ds: ds, split: .train)?.nextItem, 2, "the clock restarts at each commit")
    }

    /// A store on a 2 MiB tmpfs fills it: the error says "no space left" in one line, and the items
    /// committed before are all there and readable. Needs root (mount); skipped elsewhere.
    func testFullDiskIsNamedAndKeepsCommittedItems() throws {
        let mountPoint = temporaryStorePath(self, "disk")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mountPoint]
        mount.standardError = FileHandle.nullDevice
        try mount.run()
        mount.waitUntilExit()
        guard mount.terminationStatus == 0 else { throw XCTSkip("cannot mount a tmpfs here (needs root)") }
        addTeardownBlock {
            let umount = Process()
            umount.executableURL = URL(fileURLWithPath: "/bin/umount")
            umount.arguments = [mountPoint]
            try? umount.run()
            umount.waitUntilExit()
        }
        let path = (mountPoint as NSString).appendingPathComponent("store")
        let store = try FeatureStore(path: path, options: .init(create: true, initialMapSize: 1 << 20))
        var committed: UInt32 = 0
        let message = assertStoreError("no space left on the disk of") {
            let ext = try store.registerExtractor(sampleExtractor(dim: 256))
            let ds = try store.registerDataset(name: "toy", classnames: ["a", "b", "c"], items: [.train: sampleItems(4000)]).id
            let writer = try FeatureWriter(store: store, ext: ext, ds: ds, split: .train, batchItems: 64)
            for i in 0..<4000 {
                try writer.add(item: UInt32(i), features: sampleFeatures(item: i, views: 1, dim: 256))
                committed = try store.job(ext: ext, ds: ds, split: .train)?.nextItem ?? 0
            }
        }
        XCTAssertEqual(message?.contains("free space and rerun to resume"), true)
        XCTAssertEqual(message?.contains("\n"), false)
        XCTAssertGreaterThan(committed, 0)
        let scan = try store.scan(ext: try XCTUnwrap(store.extractors().first?.id), ds: try XCTUnwrap(store.datasets().first?.id),
                                  split: .train, recipe: nil)
        XCTAssertEqual(scan.rows, Int(committed))
        XCTAssertEqual(scan.values[Int(committed - 1) * 256 + 7], Float(Float16(sampleValue(Int(committed - 1), 0, 7))))
        XCTAssertTrue(try store.verify().ok)
    }
}
