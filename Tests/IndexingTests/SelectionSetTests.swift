import DatasetNames
import Datasets
import FeatureCache
import Foundation
import Indexing
import PromptLearning
import TestSupport
import XCTest

/// The adapters' selection sets (`CachedDataset.task(…, selection:)`): the val split, full or a
/// seeded few-shot draw of it; for a dataset without val, `TrainHoldout`'s slice of train outside
/// the draw, which `--train-items fewshot` indexes at view 0. Never test.
final class SelectionSetTests: XCTestCase {
    /// The rows of `ids` (ascending) from view-0 features of a whole split.
    private func rows(_ ids: [Int], of eval: EvalFeatures) -> [Float] {
        ids.sorted().flatMap { id -> [Float] in
            let r = eval.items.firstIndex(of: UInt32(id))!
            return Array(eval.values[(r * eval.dim)..<((r + 1) * eval.dim)])
        }
    }

    func testValSelectionIsTheFullValSplitOrASeededFewShotDrawOfIt() throws {
        let scratch = try Scratch()
        let root = scratch.url.appendingPathComponent("toy")
        let counts = try TinyDataset.write(to: root, trainPerClass: 4, valPerClass: 5)
        let path = scratch.path("store")
        let summary = try runIndexer(tinySettings(root: root, store: path, views: 1))
        XCTAssertEqual(summary.heldOutItems, 0)
        let store = try FeatureStore(path: path)
        let data = try CachedDataset(store: store, model: .name("tiny-rn"), datasetName: "toy")
        let dataset = try DatasetCatalog.load(name: "split-json", root: root)
        XCTAssertFalse(TrainHoldout.isNeeded(dataset))
        let val = try CacheQueries.evalFeatures(store: store, ext: summary.ext, ds: summary.ds, split: .val)

        let full = try XCTUnwrap(try data.task(shots: 2, seed: 1, classes: .all, selection: .fullVal).selection)
        XCTAssertEqual(full.source, SelectionSource(split: "val", items: counts.val, perClass: nil))
        XCTAssertEqual(full.source.summary, "selection: val, 15 items (all of them) of the val split")
        XCTAssertEqual(full.features.offsets, Array(0...counts.val), "view 0 only")
        XCTAssertEqual(full.features.values, val.values)
        XCTAssertEqual(full.features.labels, val.labels.map { Int($0) })

        // Few-shot val: CoOp's sampler on val with a fresh generator seeded by the run's seed.
        func expected(_ seed: Int, _ n: Int) -> [Int] {
            var random = CPythonRandom(seed: seed)
            return FewShotSampler.sample(dataset.val, shots: n, random: &random).map { dataset.val.firstIndex(of: $0)! }
        }
        let two = try XCTUnwrap(try data.task(shots: 2, seed: 1, classes: .all, selection: .fewShotVal(perClass: 2)).selection)
        XCTAssertEqual(two.source, SelectionSource(split: "val", items: 6, perClass: 2))
        XCTAssertEqual(two.features.values, rows(expected(1, 2), of: val))
        XCTAssertEqual(Dictionary(grouping: two.features.labels, by: { $0 }).mapValues(\.count), [0: 2, 1: 2, 2: 2])
        let again = try CachedDataset(store: store, model: .name("tiny-rn"), datasetName: "toy")
            .task(shots: 2, seed: 1, classes: .all, selection: .fewShotVal(perClass: 2)).selection
        XCTAssertEqual(again?.features.values, two.features.values, "the same seed draws the same items")
        XCTAssertNotEqual(Set(expected(1, 2)), Set(expected(2, 2)))
        let seed2 = try data.task(shots: 2, seed: 2, classes: .all, selection: .fewShotVal(perClass: 2)).selection
        XCTAssertEqual(seed2?.features.values, rows(expected(2, 2), of: val))
        // After the class subset: the base half (labels 0, 1 of 3) renumbered as train is.
        let base = try XCTUnwrap(try data.task(shots: 2, seed: 1, classes: .base, selection: .fullVal).selection)
        XCTAssertEqual(base.source.items, 10)
        XCTAssertEqual(Set(base.features.labels), [0, 1])
        let new = try XCTUnwrap(try data.task(shots: 2, seed: 1, classes: .new, selection: .fullVal).selection)
        XCTAssertEqual(new.features.labels, [Int](repeating: 0, count: 5))
        XCTAssertNil(try data.task(shots: 2, seed: 1, classes: .all).selection, "none asked, none read")

        // The run's report names the recipe's policy.
        let views = try data.task(shots: 2, seed: 1, classes: .all).views
        XCTAssertEqual(views.policy, "rrc(0.08-1,3/4-4/3)+hflip")
        XCTAssertEqual(views.summary, "training views: recipe \(summary.recipe!) (rrc(0.08-1,3/4-4/3)+hflip), 6 items with augmented views, 0 with view 0 only; a draw made here")
        assertOneLineError("stored crop scales: 0.08") { _ = try data.task(shots: 2, seed: 1, classes: .all, recipe: .cropScale(0.5)) }

        // A store without the val features says how to add them.
        let bare = scratch.path("bare")
        var settings = tinySettings(root: root, store: bare, views: 1)
        settings.splits = [.train, .test]
        try runIndexer(settings)
        let canonical = try FeatureStore(path: bare).path
        assertOneLineError("\(canonical): 15 of 15 val items of toy have no features; index them with `cocoon index --dataset toy --splits val --store \(canonical)`") {
            _ = try CachedDataset(store: FeatureStore(path: bare), model: .name("tiny-rn"), datasetName: "toy")
                .task(shots: 2, seed: 1, classes: .all, selection: .fullVal)
        }
    }

    func testWithoutValTheSelectionIsAHeldOutTrainSliceOutsideTheDraw() throws {
        let scratch = try Scratch()
        let root = scratch.url.appendingPathComponent("toy")
        let counts = try TinyDataset.write(to: root, trainPerClass: 20, valPerClass: 0)
        XCTAssertEqual(counts.val, 0)
        let dataset = try DatasetCatalog.load(name: "split-json", root: root)
        XCTAssertTrue(TrainHoldout.isNeeded(dataset))
        XCTAssertTrue(TrainHoldout.isNeeded(try dataset.replacing(train: dataset.train, val: dataset.test, test: dataset.test)),
                      "val = test (ImageNet in CoOp's layout) is no val")

        // The slice: 16 per class outside the draw, independent of the listing order.
        let draws = [1, 2].map { FewShotSampler.sample(dataset, shots: 2, seed: $0).train }
        let slices = draws.map { TrainHoldout.items(dataset.train, excluding: $0) }
        for (draw, slice) in zip(draws, slices) {
            XCTAssertEqual(slice.count, 3 * TrainHoldout.perClass)
            XCTAssertEqual(Dictionary(grouping: slice, by: \.label).mapValues(\.count), [0: 16, 1: 16, 2: 16])
            XCTAssertTrue(Set(slice.map(\.path)).isDisjoint(with: draw.map(\.path)))
            XCTAssertEqual(TrainHoldout.items(Array(dataset.train.reversed()), excluding: draw), slice)
        }
        let index = Dictionary(uniqueKeysWithValues: dataset.train.enumerated().map { ($1.path, $0) })
        let drawIDs = Set(draws.flatMap { $0.map { index[$0.path]! } })
        let sliceIDs = Set(slices.flatMap { $0.map { index[$0.path]! } })

        // `--train-items fewshot` indexes the draws (with their views) and the slices' view 0.
        let path = scratch.path("store")
        var settings = tinySettings(root: root, store: path, views: 1)
        settings.viewScope = try ViewScope(parsing: "fewshot:2:1,2")
        settings.onlyFewShotTrainItems = true
        let summary = try runIndexer(settings)
        XCTAssertEqual(summary.heldOutItems, sliceIDs.count)
        XCTAssertTrue(summary.text.contains("selection slice (no val split): \(sliceIDs.count) held-out train items outside the draws, view 0 only"), summary.text)
        XCTAssertEqual(summary.splits.map(\.split), [.train, .test])
        XCTAssertEqual(summary.splits[0].items, drawIDs.union(sliceIDs).count)
        let store = try FeatureStore(path: path)
        let views = try store.storedViews(ext: summary.ext, ds: summary.ds, split: .train)
        XCTAssertEqual(Set(views.keys.map { Int($0) }), drawIDs.union(sliceIDs))
        for (item, keys) in views { XCTAssertEqual(keys.count, drawIDs.contains(Int(item)) ? 2 : 1, "item \(item)") }

        // The tuner's selection reads exactly the slice of its draw.
        let data = try CachedDataset(store: store, model: .name("tiny-rn"), datasetName: "toy")
        let train = try CacheQueries.evalFeatures(store: store, ext: summary.ext, ds: summary.ds, split: .train)
        let task = try data.task(shots: 2, seed: 1, classes: .all, selection: .fullVal)
        let full = try XCTUnwrap(task.selection)
        XCTAssertEqual(full.source, SelectionSource(split: "train-holdout", items: 48, perClass: nil))
        XCTAssertEqual(full.source.summary, "selection: train-holdout, 48 items (all of them) of held-out train items outside the few-shot draw (no val split)")
        XCTAssertEqual(full.features.values, rows(slices[0].map { index[$0.path]! }, of: train))
        XCTAssertEqual(task.views.storedDraw, "2shot-s1")
        let again = try CachedDataset(store: store, model: .name("tiny-rn"), datasetName: "toy")
            .task(shots: 2, seed: 1, classes: .all, selection: .fullVal).selection
        XCTAssertEqual(again?.features.values, full.features.values)
        let second = try XCTUnwrap(try data.task(shots: 2, seed: 2, classes: .all, selection: .fullVal).selection)
        XCTAssertEqual(second.features.values, rows(slices[1].map { index[$0.path]! }, of: train))

        // Few-shot: 4 per class of the slice, drawn with the run's seed.
        let four = try XCTUnwrap(try data.task(shots: 2, seed: 1, classes: .all, selection: .fewShotVal(perClass: 4)).selection)
        XCTAssertEqual(four.source, SelectionSource(split: "train-holdout", items: 12, perClass: 4))
        var random = CPythonRandom(seed: 1)
        let drawn = FewShotSampler.sample(slices[0], shots: 4, random: &random)
        XCTAssertEqual(four.features.values, rows(drawn.map { index[$0.path]! }, of: train))

        // A draw made here whose items have no views of the wanted recipe: the fix names the crop scale.
        assertOneLineError("index them with `cocoon index … --views K --crop-scale 0.08 --views-for fewshot:2:3`, or pass --allow-unaugmented to train on their view 0") {
            _ = try data.task(shots: 2, seed: 3, classes: .all, recipe: .cropScale(0.08))
        }

        // No draw (all of train) leaves nothing to hold out; a store without the slice says how to add it.
        assertOneLineError("toy has no val split and every train item is in the training draw, so none is left to select hyper-parameters on; train with --shots N") {
            _ = try data.task(shots: nil, seed: 1, classes: .all, selection: .fullVal, allowUnaugmented: true)
        }
        let bare = scratch.path("bare")
        var testOnly = tinySettings(root: root, store: bare, views: 1)
        testOnly.splits = [.test]
        try runIndexer(testOnly)
        let canonical = try FeatureStore(path: bare).path
        assertOneLineError("\(canonical): 48 of 48 held-out train items (the selection slice of a dataset without val) of toy have no features; index them with `cocoon index --dataset toy --views-for fewshot:N:SEEDS --train-items fewshot --store \(canonical)` (it indexes the held-out slice's view 0), or index every train item") {
            _ = try CachedDataset(store: FeatureStore(path: bare), model: .name("tiny-rn"), datasetName: "toy")
                .task(shots: 2, seed: 1, classes: .all, selection: .fullVal, allowUnaugmented: true)
        }
    }
}
