import Foundation
import Kernels
import TestSupport
import XCTest

/// The papers' protocols as a user runs them (README "Protocols"), through the built CLI with
/// default flags, over ONE store holding several synthetic datasets indexed with different
/// `--views` settings (`SyntheticWorld`): few-shot (the indexed draw and its augmented views), base-to-new,
/// cross-dataset transfer, domain generalisation to a test-only dataset, and the baselines
/// (zero-shot, linear probe) and `interpret`.
final class ProtocolTests: XCTestCase {
    private func accuracy(_ result: [String: Any]) -> Double {
        ((result["result"] ?? result["test"]) as? [String: Any])?["accuracy"] as? Double ?? -1
    }

    func testThePapersProtocolsRunFromOneStoreWithDefaultFlags() throws {
        let world = try SyntheticWorld.shared(), scratch = try Scratch("protocols")
        let model = world.model, data = world.data, task = world.task
        func index(_ dataset: String, _ root: URL, _ extra: [String] = []) throws -> String { try world.index(dataset, root, extra) }

        // Few-shot: the tuner takes the indexed 1-shot draw and its augmented views.
        let fewShot = try tuneOutcome(["coop"] + task + ["--dataset", "colored-shapes", "--shots", "1", "--out", scratch.path("c1.safetensors")])
        let views = try XCTUnwrap(fewShot["trainingViews"] as? [String: Any])
        XCTAssertEqual(views["storedDraw"] as? String, "1shot-s1")
        XCTAssertEqual(views["augmentedItems"] as? Int, 32)
        XCTAssertEqual(views["unaugmentedItems"] as? Int, 0)
        let zeroShot = try runCocoonJSON(["zeroshot"] + task + ["--dataset", "colored-shapes"])
        XCTAssertGreaterThan(accuracy(fewShot), accuracy(zeroShot), "CoOp 1-shot above the hand-crafted prompt")
        // The same run with the text tower in BF16 (where the CPU has it): FP32's accuracy, the
        // precision in the checkpoint, and no FP32 resume of it.
        if BF16Support.available {
            let out = scratch.path("c1-bf16.safetensors")
            let bf16 = try tuneOutcome(["coop"] + task + ["--dataset", "colored-shapes", "--shots", "1", "--precision", "bf16", "--out", out])
            print("CoOp 1 shot on colored-shapes: fp32 \(accuracy(fewShot))%, bf16 \(accuracy(bf16))%")
            XCTAssertEqual(accuracy(bf16), accuracy(fewShot), accuracy: 2, "BF16 vs FP32 CoOp, 1 shot")
            try assertCocoonRefuses(["tune", "coop"] + task + ["--dataset", "colored-shapes", "--shots", "1", "--out", out, "--resume"],
                        "hyper-parameters or precision differ")
        }
        // More shots than the indexed draw: refused with the fix, until the draw is indexed (views only).
        try assertCocoonRefuses(["tune", "coop"] + task + ["--dataset", "colored-shapes", "--shots", "2"], "--views-for fewshot:2:1")
        let added = try index("split-json", data.appendingPathComponent("colored-shapes"), ["--views", "1", "--views-for", "fewshot:2:1"])
        let trainLine = try XCTUnwrap(added.split(separator: "\n").first { $0.hasPrefix("train:") })
        let counts = trainLine.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .punctuationCharacters)) }
        XCTAssertEqual(counts[0], counts[1], "one image per newly augmented item: view 0 is never encoded again (\(trainLine))")
        XCTAssertLessThan(counts[0], 64)
        let twoShot = try tuneOutcome(["coop"] + task + ["--dataset", "colored-shapes", "--shots", "2", "--out", scratch.path("c2.safetensors")])
        XCTAssertEqual((twoShot["trainingViews"] as? [String: Any])?["unaugmentedItems"] as? Int, 0)
        // All training items of `shapes` have 2 augmented views, no draw was indexed: drawn here.
        let shapes = try tuneOutcome(["coop"] + task + ["--dataset", "shapes", "--shots", "1", "--out", scratch.path("s1.safetensors")])
        XCTAssertNil((shapes["trainingViews"] as? [String: Any])?["storedDraw"] as? String)

        // Base-to-new: train on the base half, evaluate the same prompt on the new half.
        let base = try tuneOutcome(["coop"] + task + ["--dataset", "colored-shapes", "--shots", "1", "--classes", "base",
                                                       "--out", scratch.path("base.safetensors")])
        XCTAssertNotNil(base["harmonicMean"] as? Double)
        let new = try runCocoonJSON(["eval", scratch.path("base.safetensors")] + task + ["--dataset", "colored-shapes", "--classes", "new"])
        XCTAssertEqual(((new["result"] as? [String: Any])?["accuracy"] as? Double) ?? -1,
                       ((base["newClasses"] as? [String: Any])?["accuracy"] as? Double) ?? -2, accuracy: 1e-9)

        // Cross-dataset transfer and domain generalisation: the prompt on other datasets of the store.
        let transfer = try runCocoonJSON(["eval", scratch.path("c1.safetensors")] + task + ["--dataset", "plain-shapes"])
        XCTAssertGreaterThan(accuracy(transfer), 100.0 / 64 * 3, "well above chance on 64 classes")
        let domain = try runCocoonJSON(["eval", scratch.path("c1.safetensors")] + task + ["--dataset", "plain-target"])
        XCTAssertGreaterThan(accuracy(domain), 100.0 / 16 * 3)
        try assertCocoonRefuses(["tune", "coop"] + task + ["--dataset", "plain-target", "--shots", "1"], "has no train split (a test-only dataset)")

        // Baselines and interpretation.
        let ensemble = try runCocoonJSON(["zeroshot"] + task + ["--dataset", "plain-target", "--ensemble"])
        XCTAssertGreaterThan(accuracy(ensemble), 0)
        let probe = try runCocoonJSON(["probe"] + task + ["--dataset", "colored-shapes", "--shots", "1"])
        XCTAssertEqual((probe["result"] as? [String: Any])?["count"] as? Int, 640)
        let words = try runCocoonJSON(["interpret", scratch.path("c1.safetensors"), "--model", model])
        XCTAssertFalse(words.isEmpty)

        // The one lookup's errors name the choices.
        try assertCocoonRefuses(["zeroshot"] + task + ["--dataset", "imagenet"], "stored datasets: colored-shapes, plain-shapes, plain-target, shapes")
        try assertCocoonRefuses(["tune", "coop"] + task + ["--dataset", "shapes", "--recipe", "00000001"], "no train views of recipe 00000001")
    }

    /// KgCoOp and ProGrad through `cocoon tune` with their official defaults: KgCoOp at W = 0 is
    /// CoOp with KgCoOp's settings bit for bit (the loss log and the accuracy), W = 8 moves both;
    /// each checkpoint is read back by `eval` to the accuracy `tune` reported, base-to-new reports
    /// the new classes, and a λ outside [0, 1] is refused in one line.
    func testKgCoOpAndProGradTuneFromTheCache() throws {
        let world = try SyntheticWorld.shared(), scratch = try Scratch("peers")
        let common = world.task + ["--dataset", "colored-shapes", "--shots", "1", "--epochs", "4"]
        func losses(_ run: [String: Any]) -> [Double] { (run["log"] as? [[String: Any]] ?? []).compactMap { $0["loss"] as? Double } }

        let kgcoop = try tuneOutcome(["kgcoop"] + common + ["--out", scratch.path("kg.safetensors")])
        let kgcoopW0 = try tuneOutcome(["kgcoop"] + common + ["--w", "0", "--out", scratch.path("kg0.safetensors")])
        let coop = try tuneOutcome(["coop"] + common + ["--init-phrase", "a photo of a", "--batch", "128", "--out", scratch.path("c.safetensors")])
        XCTAssertEqual(losses(kgcoopW0).count, 4)
        XCTAssertEqual(losses(kgcoopW0), losses(coop), "KgCoOp with W = 0 is CoOp")
        XCTAssertEqual(accuracy(kgcoopW0), accuracy(coop))
        XCTAssertNotEqual(losses(kgcoop), losses(coop), "W = 8 adds its term")
        let eval = try runCocoonJSON(["eval", scratch.path("kg.safetensors")] + world.task + ["--dataset", "colored-shapes"])
        XCTAssertEqual(accuracy(eval), accuracy(kgcoop))

        let prograd = try tuneOutcome(["prograd"] + common + ["--out", scratch.path("pg.safetensors")])
        XCTAssertEqual(losses(prograd).count, 4)
        let evalProGrad = try runCocoonJSON(["eval", scratch.path("pg.safetensors")] + world.task + ["--dataset", "colored-shapes"])
        XCTAssertEqual(accuracy(evalProGrad), accuracy(prograd))
        print("1 shot, 4 epochs on colored-shapes: CoOp (M=4) \(accuracy(coop))%, KgCoOp \(accuracy(kgcoop))%, ProGrad \(accuracy(prograd))%")

        let base = try tuneOutcome(["kgcoop"] + world.task + ["--dataset", "colored-shapes", "--shots", "1", "--epochs", "2", "--classes", "base",
                                                       "--out", scratch.path("kg-base.safetensors")])
        XCTAssertNotNil((base["newClasses"] as? [String: Any])?["accuracy"] as? Double)
        try assertCocoonRefuses(["tune", "prograd"] + common + ["--lambda", "2"], "--lambda 2.0: must be between 0 and 1")
    }
}
