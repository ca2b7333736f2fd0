import CLIP
import DatasetNames
import Datasets
import FeatureCache
import Foundation
import Imaging
import Indexing
import TestSupport
import XCTest

final class IndexPipelineTests: XCTestCase {
    /// K = 2 views on train, batches of 4 images cutting across items, commits every 3 items: the
    /// store holds exactly 3 views per train item and 1 per val/test item, each equal to the
    /// encoder on `Preprocess.view` pixels rounded to f16; augmented views differ from view 0.
    func testIndexWritesExpectedRecordsAndFeatures() throws {
        let scratch = try Scratch()
        let root = scratch.url.appendingPathComponent("toy")
        let counts = try TinyDataset.write(to: root)
        let summary = try runIndexer(tinySettings(root: root, store: scratch.path("store"), views: 2))
        XCTAssertEqual(summary.splits.map(\.split), [.train, .val, .test])
        XCTAssertEqual(summary.splits.map(\.indexed), [counts.train, counts.val, counts.test])
        XCTAssertEqual(summary.splits.map(\.images), [3 * counts.train, counts.val, counts.test])
        XCTAssertTrue(summary.splits.allSatisfy { $0.failures.isEmpty })

        let e = summary.extractor
        XCTAssertEqual(summary.augmentedViews, 2)
        let store0 = try FeatureStore(path: scratch.path("store"))
        XCTAssertEqual(try store0.recipe(try XCTUnwrap(summary.recipe)), RecipeRecord(policy: "rrc(0.08-1,3/4-4/3)+hflip", seed: 1))
        XCTAssertEqual(e.modelName, "tiny-rn")
        XCTAssertEqual(e.embedDim, 64)
        XCTAssertTrue(e.preprocessing.contains("bicubic short side 64 (Pillow-exact, pass order pillow13), centre crop 64"), e.preprocessing)
        let mean = PreprocessConfig.clipMean.map { "\($0)" }.joined(separator: ","), std = PreprocessConfig.clipStd.map { "\($0)" }.joined(separator: ",")
        XCTAssertTrue(e.preprocessing.hasSuffix("mean \(mean) std \(std)"), e.preprocessing)

        let store = try FeatureStore(path: scratch.path("store"))
        let stats = try store.stats()
        XCTAssertEqual(stats.groups.map(\.features), [3 * counts.train, counts.val, counts.test])
        XCTAssertEqual(stats.groups.map(\.items), [counts.train, counts.val, counts.test])
        XCTAssertTrue(stats.groups.allSatisfy { $0.jobStatus == "complete" && $0.dtype == .f16 && $0.dim == 64 })

        let model = try CLIPModel(directory: Paths.tinyRN)
        let dataset = try DatasetCatalog.load(name: "split-json", root: root)
        var maxError: Float = 0, minAugmentedDistance: Float = .infinity, mismatches = 0
        for split in [Split.train, .test] {
            let scan = try store.scan(ext: summary.ext, ds: summary.ds, split: split, recipe: summary.recipe)
            let views = split == .train ? 3 : 1
            let items = dataset.items(split)
            XCTAssertEqual(scan.rows, items.count * views)
            XCTAssertEqual(scan.items, items.indices.flatMap { i in [UInt32](repeating: UInt32(i), count: views) })
            XCTAssertEqual(scan.views, items.indices.flatMap { _ in (0..<views).map { UInt16($0) } })
            XCTAssertEqual(scan.labels, items.flatMap { [Int32](repeating: Int32($0.label), count: views) })
            for (i, item) in items.enumerated() {
                let reference = try referenceFeatures(model, file: dataset.url(of: item), key: item.path, views: views)
                for j in 0..<(views * 64) {
                    // Bit-equal: the indexer's batches of 4 give each image the features it gets in
                    // any batch of 4, here alone with zero images.
                    let stored = scan.values[i * views * 64 + j], expected = f16Rounded(reference[j])
                    if stored.bitPattern != expected.bitPattern { mismatches += 1 }
                    maxError = max(maxError, abs(stored - reference[j]) / max(abs(reference[j]), 1e-2))
                }
                for v in 1..<views {
                    var distance: Float = 0
                    for d in 0..<64 { distance = max(distance, abs(reference[v * 64 + d] - reference[d])) }
                    minAugmentedDistance = min(minAugmentedDistance, distance)
                }
            }
        }
        XCTAssertEqual(mismatches, 0)
        XCTAssertLessThan(maxError, 4.9e-4)  // f16 rounding: relative error ≤ 2⁻¹¹
        print("pipeline: stored f16 = f16(reference) for all values; max relative f16 error \(maxError), min view distance \(minAugmentedDistance)")
        XCTAssertGreaterThan(minAugmentedDistance, 1e-2)
        XCTAssertTrue(try store.verify().ok)
    }

    /// `fewshot:2:1,2`: augmented views only on train items of the two draws, whose ids (train and
    /// val) are stored as subsets `2shot-s1`, `2shot-s2`, equal to `FewShotSampler`'s draws.
    func testFewShotScopeRestrictsViewsAndRecordsSubsets() throws {
        let scratch = try Scratch()
        let root = scratch.url.appendingPathComponent("toy")
        try TinyDataset.write(to: root)
        var settings = tinySettings(root: root, store: scratch.path("store"), views: 2)
        settings.viewScope = try ViewScope(parsing: "fewshot:2:1,2")
        let summary = try runIndexer(settings)
        XCTAssertEqual(summary.subsets, ["2shot-s1", "2shot-s2"])
        XCTAssertNotNil(summary.recipe)

        let dataset = try DatasetCatalog.load(name: "split-json", root: root)
        let store = try FeatureStore(path: scratch.path("store"))
        var union: Set<UInt32> = []
        for seed in [1, 2] {
            let draw = FewShotSampler.sample(dataset, shots: 2, seed: seed)
            let train = draw.train.map { item in UInt32(dataset.train.firstIndex(of: item)!) }.sorted()
            let val = draw.val!.map { item in UInt32(dataset.val.firstIndex(of: item)!) }.sorted()
            XCTAssertEqual(train.count, 6)
            XCTAssertEqual(try store.subset(ds: summary.ds, split: .train, name: "2shot-s\(seed)"), train)
            XCTAssertEqual(try store.subset(ds: summary.ds, split: .val, name: "2shot-s\(seed)"), val)
            union.formUnion(train)
        }
        XCTAssertGreaterThan(union.count, 6)  // the two draws differ
        let scan = try store.scan(ext: summary.ext, ds: summary.ds, split: .train, recipe: summary.recipe)
        var viewsPerItem: [UInt32: Int] = [:]
        for r in 0..<scan.rows { viewsPerItem[scan.items[r], default: 0] += 1 }
        XCTAssertEqual(viewsPerItem.count, dataset.train.count)
        for (item, views) in viewsPerItem { XCTAssertEqual(views, union.contains(item) ? 3 : 1, "item \(item)") }
        XCTAssertEqual(scan.rows, dataset.train.count + 2 * union.count)
        // Few-shot scan: all views of the subset items.
        let subset = try store.subset(ds: summary.ds, split: .train, name: "2shot-s1")!
        XCTAssertEqual(try store.scan(ext: summary.ext, ds: summary.ds, split: .train, items: subset, recipe: summary.recipe).rows, 3 * subset.count)
        XCTAssertEqual(try store.scan(ext: summary.ext, ds: summary.ds, split: .train, items: subset).rows, subset.count)   // view 0 only
    }

    /// Another model (tiny-vit) on the same dataset and store adds a second extractor and keeps
    /// the first one's features; rerunning a finished command changes nothing.
    func testSecondModelKeepsFirstAndRerunIsNoOp() throws {
        let scratch = try Scratch()
        let root = scratch.url.appendingPathComponent("toy")
        let counts = try TinyDataset.write(to: root)
        let store = scratch.path("store")
        try runIndexer(tinySettings(root: root, store: store))
        let before = try StoreDump(path: store)
        let again = try runIndexer(tinySettings(root: root, store: store))
        XCTAssertTrue(again.splits.allSatisfy(\.wasComplete))
        assertSameStore(try StoreDump(path: store), before)
        try runIndexer(tinySettings(model: Paths.tinyViT, root: root, store: store))
        let after = try StoreDump(path: store)
        XCTAssertEqual(after.extractors.count, 2)
        XCTAssertEqual(after.featureCount, 2 * (counts.train + counts.val + counts.test))
        for (key, values) in before.features { XCTAssertEqual(after.features[key], values) }
    }

    func testOptionParsing() throws {
        XCTAssertEqual(try ViewScope(parsing: "fewshot:16:1,2,3"), .fewShot(shots: 16, seeds: [1, 2, 3]))
        XCTAssertEqual(try ViewScope(parsing: "all"), .all)
        XCTAssertEqual(try ViewScope(parsing: "fewshot:16:1,2,3").subsetNames, ["16shot-s1", "16shot-s2", "16shot-s3"])
        assertOneLineError("expected 'all' or 'fewshot:N:SEEDS'") { _ = try ViewScope(parsing: "fewshot:0:1") }
        assertOneLineError("expected 'all' or 'fewshot:N:SEEDS'") { _ = try ViewScope(parsing: "few:16") }
        XCTAssertEqual(try ShardSelector(parsing: "2/5"), try ShardSelector(index: 2, count: 5))
        assertOneLineError("need 0 <= i < n") { _ = try ShardSelector(parsing: "5/5") }
        assertOneLineError("expected i/n") { _ = try ShardSelector(parsing: "1-4") }
        // The bucket is SHA-256("img/a.png")[0..<8] big-endian mod n; every key lands in exactly one shard.
        let keys = (0..<200).map { "img/\($0).png" }
        let shards = try (0..<4).map { try ShardSelector(index: $0, count: 4) }
        for key in keys { XCTAssertEqual(shards.filter { $0.contains(key: key) }.count, 1) }
        let sizes = shards.map { s in keys.filter { s.contains(key: $0) }.count }
        XCTAssertTrue(sizes.allSatisfy { $0 > 30 }, "\(sizes)")
    }
}
