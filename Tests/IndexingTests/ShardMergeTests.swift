import FeatureCache
import Foundation
import Indexing
import TestSupport
import XCTest

/// `--shard 0/2` and `--shard 1/2` into two stores, merged with `cocoon store merge`, equal one
/// run into one store record for record (features, items, subsets, failures).
final class ShardMergeTests: XCTestCase {
    func testShardsMergeIntoTheSingleRunStore() throws {
        let scratch = try Scratch("shard")
        let root = scratch.url.appendingPathComponent("toy")
        try TinyDataset.write(to: root)
        try Data([0x89, 0x50, 0x4E, 0x47, 1, 2, 3]).write(to: root.appendingPathComponent("img/test_blue_square_1.png"))
        func settings(_ store: String) throws -> IndexSettings {
            var s = tinySettings(root: root, store: scratch.path(store), views: 1)
            s.viewScope = try ViewScope(parsing: "fewshot:2:1")
            return s
        }
        try runIndexer(try settings("single"))
        var itemsPerShard: [Int] = []
        for i in 0..<2 {
            var s = try settings("shard\(i)")
            s.shard = try ShardSelector(index: i, count: 2)
            let summary = try runIndexer(s)
            itemsPerShard.append(summary.splits.map(\.items).reduce(0, +))
        }
        XCTAssertEqual(itemsPerShard.reduce(0, +), 21)
        XCTAssertTrue(itemsPerShard.allSatisfy { $0 > 3 }, "\(itemsPerShard)")
        let merged = try runCocoon(["store", "merge", "--into", scratch.path("merged"), scratch.path("shard0"), scratch.path("shard1")])
        XCTAssertEqual(merged.status, 0, merged.stderr)
        XCTAssertTrue(merged.stdout.contains("copied"), merged.stdout)
        let single = try StoreDump(path: scratch.path("single"))
        XCTAssertEqual(single.featureCount, 12 + 6 + 3 + 6 - 1)  // 6 few-shot train items × 2 views, one failure
        assertSameStore(try StoreDump(path: scratch.path("merged")), single)
        let verify = try runCocoon(["store", "verify", scratch.path("merged"), "--files", "--root", root.path])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
        XCTAssertTrue(verify.stdout.contains("26 features checked, 0 bad"), verify.stdout)
        XCTAssertTrue(verify.stdout.contains("21 source files checked, 0 differ"), verify.stdout)
    }

    /// `store verify --files` finds an edited and a deleted source image (exit code 1).
    func testVerifyFilesFindsChangedImages() throws {
        let scratch = try Scratch("verify")
        let root = scratch.url.appendingPathComponent("toy")
        try TinyDataset.write(to: root)
        try runIndexer(tinySettings(root: root, store: scratch.path("store")))
        let store = try FeatureStore(path: scratch.path("store"))
        XCTAssertTrue(try SourceFileCheck.run(store: store, root: root).ok)
        let edited = root.appendingPathComponent("img/train_red_circle_1.png")
        var bytes = try Data(contentsOf: edited)
        bytes[bytes.count - 20] ^= 0xFF
        try bytes.write(to: edited)
        try FileManager.default.removeItem(at: root.appendingPathComponent("img/test_green_star_0.png"))
        let report = try SourceFileCheck.run(store: store, root: root)
        XCTAssertEqual(report.checked, 21)
        XCTAssertEqual(report.problems.count, 2)
        XCTAssertTrue(report.problems[0].contains("train item 1 \(edited.path): content changed"), report.problems[0])
        XCTAssertTrue(report.problems[1].contains("test item 4 \(root.path)/img/test_green_star_0.png: missing"), report.problems[1])
        let cli = try runCocoon(["store", "verify", scratch.path("store"), "--files", "--root", root.path])
        XCTAssertEqual(cli.status, 1)
        XCTAssertTrue(cli.stderr.contains("2 problems found"), cli.stderr)
    }
}
