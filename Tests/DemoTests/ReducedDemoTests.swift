import CLIP
import FeatureCache
import Kernels
import Foundation
import PromptLearning
import XCTest
@testable import Demo

/// The embedded demo in miniature (the reduced plan: one shot count, few epochs) on the committed
/// demo model: learned prompts must show the papers' story (and the learned context must sit near
/// the word the hand prompt lacks), and the numbers must not depend on anything but the seed.
final class ReducedDemoTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func testReducedDemoShowsThePapersStoryDeterministically() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("cocoon-demo-test-\(getpid())")
        defer { try? FileManager.default.removeItem(at: work) }
        let modelURL = ReducedDemoTests.repository.appendingPathComponent("demo/model")
        let first = try DemoRunner(modelDirectory: modelURL, workDirectory: work, plan: .reduced).run()

        let coop16 = try XCTUnwrap(first.fewShot.first { $0.shots == 16 })
        XCTAssertGreaterThanOrEqual(coop16.coop, first.zeroShot + 10,
                                    "CoOp 16-shot \(coop16.coop)% vs zero-shot \(first.zeroShot)%")
        let zeroShotBase = first.baseToNew[0].base
        for learned in first.baseToNew.dropFirst() {
            XCTAssertGreaterThan(learned.base, zeroShotBase, "\(learned.method) base \(learned.base)% vs zero-shot \(zeroShotBase)%")
        }
        XCTAssertEqual(first.nearestWords.count, DemoPlan.reduced.coop.contextLength)
        XCTAssertTrue(first.nearestWords.joined().contains { $0.token.hasPrefix("outline") },
                      "the learned context should sit near \"outline(d)\": \(first.nearestWords.map { $0.map(\.token) })")

        // Same seed, same numbers: the 16-shot CoOp run again from the same cache.
        let model = try CLIPModel(directory: modelURL, loadImageTower: false)
        let store = try FeatureStore(path: work.appendingPathComponent("store").path)
        let cached = try CachedDataset(store: store, model: .fingerprint(model.directory.fingerprint.hex), datasetName: first.plan.dataset)
        let again = try Tuning.run(model: model, data: cached, request: TuningRequest(
            method: .coop, shots: 16, seed: Int(first.plan.seed), classes: .all, hyperparameters: first.plan.coop,
            checkpoint: work.appendingPathComponent("again.safetensors")))
        XCTAssertEqual(again.test.accuracy, coop16.coop)
        XCTAssertEqual(again.log.map(\.loss), coop16.coopLoss)
    }

    /// Indexing with `--precision bf16` moves no table entry of the reduced demo by more than
    /// 0.5 points (measured: at most 0.3).
    func testBF16IndexingKeepsTheDemoTablesWithinHalfAPoint() throws {
        guard BF16Support.available else { throw XCTSkip("this CPU has no AVX512-BF16") }
        let modelURL = ReducedDemoTests.repository.appendingPathComponent("demo/model")
        func run(_ precision: Precision) throws -> DemoResults {
            let work = FileManager.default.temporaryDirectory.appendingPathComponent("cocoon-demo-\(precision)-\(getpid())")
            defer { try? FileManager.default.removeItem(at: work) }
            var plan = DemoPlan.reduced
            plan.precision = precision
            return try DemoRunner(modelDirectory: modelURL, workDirectory: work, plan: plan).run()
        }
        let fp32 = try run(.fp32), bf16 = try run(.bf16)
        func entries(_ r: DemoResults) -> [(String, Double)] {
            [("zero-shot", r.zeroShot), ("ensemble", r.ensemble)] + r.fewShot.map { ("CoOp \($0.shots) shots", $0.coop) }
                + r.baseToNew.flatMap { [("\($0.method) base", $0.base), ("\($0.method) new", $0.new), ("\($0.method) H", $0.harmonic)] }
        }
        for ((name, a), (_, b)) in zip(entries(fp32), entries(bf16)) {
            print(String(format: "%@: fp32 %.2f%%, bf16 %.2f%%", name, a, b))
            XCTAssertEqual(a, b, accuracy: 0.5, name)
        }
    }
}
