import CLIP
import DatasetNames
import Datasets
import FeatureCache
import Foundation
import Indexing
import PromptLearning
import TestSupport
import XCTest

/// `--crop-scale`: each scale is its own recipe under one extractor, the default keeps the policy
/// and recipe id of every earlier store, view 0 is shared, and a training run finds a recipe by
/// its crop scale (`RecipeChoice`).
final class CropScaleRecipeTests: XCTestCase {
    /// Indexing the same dataset with scale 0.08 (default) then 0.5: two recipes, the second run
    /// encodes only the new views, view 0 and the first recipe's views are kept bit for bit, the
    /// 0.5 views are the encoder on `Preprocess.view` with scale (0.5, 1) and differ from the 0.08 ones.
    func testTwoCropScalesAreTwoRecipesSideBySide() throws {
        let scratch = try Scratch()
        let root = scratch.url.appendingPathComponent("toy")
        let counts = try TinyDataset.write(to: root)
        let path = scratch.path("store")
        let first = try runIndexer(tinySettings(root: root, store: path, views: 2))
        let before = try StoreDump(path: path)
        var settings = tinySettings(root: root, store: path, views: 2)
        settings.cropScale = 0.5
        let second = try runIndexer(settings)

        let coop = try XCTUnwrap(first.recipe), tip = try XCTUnwrap(second.recipe)
        XCTAssertEqual(coop, RecipeID(hex: "f6b13897"), "the default recipe id of every earlier store")
        XCTAssertNotEqual(tip, coop)
        XCTAssertEqual(second.ext, first.ext, "one extractor: the crop scale is not part of view 0")
        let store = try FeatureStore(path: path)
        XCTAssertEqual(try store.recipes().map(\.id).sorted(), [coop, tip].sorted())
        XCTAssertEqual(try store.recipe(coop), RecipeRecord(policy: "rrc(0.08-1,3/4-4/3)+hflip", seed: 1))
        XCTAssertEqual(try store.recipe(tip), RecipeRecord(policy: "rrc(0.5-1,3/4-4/3)+hflip", seed: 1))
        XCTAssertEqual(try store.recipe(tip)?.cropScale, 0.5)
        // Only the 2 new views of each train item were encoded; val and test were complete.
        XCTAssertEqual(second.splits.map(\.images), [2 * counts.train, 0, 0])
        XCTAssertEqual(second.splits.map(\.wasComplete), [false, true, true])

        let after = try StoreDump(path: path)
        XCTAssertEqual(after.featureCount, before.featureCount + 2 * counts.train)
        for (key, values) in before.features { XCTAssertEqual(after.features[key], values, key) }

        let model = try CLIPModel(directory: Paths.tinyRN)
        let dataset = try DatasetCatalog.load(name: "split-json", root: root)
        let scanCoop = try store.scan(ext: first.ext, ds: first.ds, split: .train, recipe: coop)
        let scanTip = try store.scan(ext: first.ext, ds: first.ds, split: .train, recipe: tip)
        XCTAssertEqual(scanTip.rows, 3 * counts.train)
        XCTAssertEqual(scanTip.views, scanCoop.views)
        var mismatches = 0, differingViews = 0
        for (i, item) in dataset.train.enumerated() {
            let reference = try referenceFeatures(model, file: dataset.url(of: item), key: item.path, views: 3, cropScale: 0.5)
            for j in 0..<(3 * 64) where scanTip.values[i * 3 * 64 + j].bitPattern != f16Rounded(reference[j]).bitPattern {
                mismatches += 1
            }
            for v in 0..<3 {
                let row = (i * 3 + v) * 64
                let distance = (0..<64).map { abs(scanTip.values[row + $0] - scanCoop.values[row + $0]) }.max()!
                if v == 0 { XCTAssertEqual(distance, 0, "view 0 of item \(i) is shared") } else if distance > 1e-3 { differingViews += 1 }
            }
        }
        XCTAssertEqual(mismatches, 0, "the 0.5 views are Preprocess.view with scale (0.5, 1)")
        XCTAssertEqual(differingViews, 2 * counts.train, "every augmented view differs between the two scales")

        // The training run's choice.
        let source = try store.lookup(model: .name("tiny-rn"), dataset: "toy")
        XCTAssertEqual(try store.trainingRecipe(source, split: .train, choice: .cropScale(0.5)), tip)
        XCTAssertEqual(try store.trainingRecipe(source, split: .train, choice: .cropScale(0.08)), coop)
        XCTAssertEqual(try store.trainingRecipe(source, split: .train, choice: RecipeChoice(recipe: "\(coop)", cropScale: 0.5)), coop,
                       "an explicit --recipe wins over the method's crop scale")
        XCTAssertNil(try store.trainingRecipe(source, split: .test, choice: .cropScale(0.5)), "no recipe has test views: view 0 only")
        let canonical = store.path
        let listed = [(coop, "0.08"), (tip, "0.5")].sorted { $0.0 < $1.0 }
            .map { "\($0.0) (rrc(\($0.1)-1,3/4-4/3)+hflip, seed 1, 12 items)" }.joined(separator: "; ")
        assertOneLineError("\(canonical): 2 augmentation recipes have train views of toy (tiny-rn): \(listed); choose one with --recipe ID") {
            _ = try store.trainingRecipe(source, split: .train, choice: nil)
        }
        let missing = assertOneLineError("\(canonical): no train views with crop scale 0.3 of toy (tiny-rn); stored crop scales: 0.08, 0.5 (recipes ") {
            _ = try store.trainingRecipe(source, split: .train, choice: .cropScale(0.3))
        }
        XCTAssertTrue(missing.hasSuffix("; index them with `cocoon index … --views K --crop-scale 0.3`, or pass --recipe HEX to use another"), missing)
        // The task reads the chosen recipe's views and reports its policy.
        let data = try CachedDataset(store: store, model: .name("tiny-rn"), datasetName: "toy")
        let task = try data.task(shots: 2, seed: 1, classes: .all, recipe: .cropScale(0.5))
        XCTAssertEqual(task.views.recipe, tip.description)
        XCTAssertEqual(task.views.policy, "rrc(0.5-1,3/4-4/3)+hflip")
        XCTAssertEqual(task.train.values, try data.features(.train, try dataset.subset(FewShotSampler.sample(dataset, shots: 2, seed: 1)).train,
                                                            recipe: tip).values)
        XCTAssertEqual(try data.task(shots: 2, seed: 1, classes: .all, recipe: .id("\(coop)")).views.policy, "rrc(0.08-1,3/4-4/3)+hflip")
        // A third recipe with scale 0.5 (another seed) makes the scale ambiguous.
        settings.seed = 7
        settings.splits = [.train]
        try runIndexer(settings)
        assertOneLineError("2 recipes with crop scale 0.5 have train views of toy (tiny-rn)") {
            _ = try store.trainingRecipe(source, split: .train, choice: .cropScale(0.5))
        }
    }

    /// The option's range and spelling, and the default recipe record kept byte for byte.
    func testCropScaleValidationAndDefaultRecipe() throws {
        var settings = tinySettings(root: URL(fileURLWithPath: "/nonexistent"), store: "/nonexistent/store")
        XCTAssertEqual(settings.cropScale, 0.08)
        for bad in [0, -0.5, 1.5, .nan] {
            settings.cropScale = bad
            assertOneLineError("must be in (0, 1], the smallest crop area as a fraction of the image; pass e.g. --crop-scale 0.08 (CoOp) or 0.5 (Tip-Adapter, LP++)") {
                try settings.validate()
            }
        }
        settings.cropScale = 0
        assertOneLineError("--crop-scale 0: must be in (0, 1]") { try settings.validate() }
        settings.cropScale = 0.5
        assertOneLineError("--crop-scale 0.5 needs --views K > 0 (it shapes the augmented views; view 0 has no crop)") { try settings.validate() }
        settings.augmentedViews = 1
        settings.cropScale = 1
        XCTAssertNoThrow(try settings.validate())
        XCTAssertEqual(ExtractorDescription.recipe(seed: 1, cropScale: 0.08), RecipeRecord(policy: "rrc(0.08-1,3/4-4/3)+hflip", seed: 1))
        XCTAssertEqual(ExtractorDescription.recipe(seed: 1, cropScale: 0.08).id.description, "f6b13897")
        XCTAssertEqual(ExtractorDescription.recipe(seed: 1, cropScale: 1).policy, "rrc(1-1,3/4-4/3)+hflip")
    }
}
