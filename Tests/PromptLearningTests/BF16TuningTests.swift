import Foundation
import Kernels
import XCTest
@testable import CLIP
@testable import PromptLearning

/// `tune --precision bf16` (the text blocks' linear layers and their input gradients in BF16)
/// against FP32 on the autograd fixture's tower: the loss and the gradients of CoOp's context
/// and of CoCoOp's context and Meta-Net stay close, BF16 really ran (the bits differ), and CoOp
/// trained in BF16 on the generated problem of `TrainingTests` reaches FP32's test accuracy.
final class BF16TuningTests: XCTestCase {
    private func cosine(_ a: Tensor, _ b: Tensor) -> Double {
        var ab = 0.0, aa = 0.0, bb = 0.0
        for i in 0..<a.count { ab += Double(a[i]) * Double(b[i]); aa += Double(a[i]) * Double(a[i]); bb += Double(b[i]) * Double(b[i]) }
        return ab / (aa * bb).squareRoot()
    }

    /// Loss and gradients of one step in `precision`, the learner built by `make` on a fresh tower.
    private func step(_ precision: Precision, _ make: (TextTransformer) throws -> PromptLearner, images: Tensor,
                      labels: [Int]) throws -> (loss: Double, gradients: [Tensor]) {
        let s = try AutogradFixtureTests.Setup(imagesKey: "coop.image_features")
        s.model.text.use(precision)
        let learner = try make(s.model.text)
        let (result, gradients) = learner.lossAndGradients(images: images, labels: labels)
        return (result.loss, gradients)
    }

    func testBF16GradientsTrackFP32() throws {
        guard BF16Support.available else { throw XCTSkip("this CPU has no AVX512-BF16") }
        let s = try AutogradFixtureTests.Setup(imagesKey: "coop.image_features")
        let coopLabels = try s.ref.int64s("coop.labels").map(Int.init)
        let cocoopImages = try s.ref.tensor("cocoop.image_features")
        Elementwise.normalizeRows(cocoopImages.data, rows: cocoopImages.shape[0], dim: cocoopImages.shape[1])
        let cocoopLabels = try s.ref.int64s("cocoop.labels").map(Int.init)
        let context = try s.ref.tensor("coop.end.ctx"), cscContext = try s.ref.tensor("coop.csc_end.ctx")
        let cases: [(String, (TextTransformer) throws -> PromptLearner, Tensor, [Int])] = [
            ("coop", { CoOpLearner(encoder: $0, layout: s.layout(.end, classSpecific: false), logitScale: s.model.logitScale,
                                   context: context.copy()) }, s.images, coopLabels),
            ("coop csc", { CoOpLearner(encoder: $0, layout: s.layout(.end, classSpecific: true), logitScale: s.model.logitScale,
                                       context: cscContext.copy()) }, s.images, coopLabels),
            ("cocoop", { encoder in
                var random = TrainingRandom(seed: 1)
                return try CoCoOpLearner(encoder: encoder, layout: s.layout(.end, classSpecific: false),
                                         logitScale: s.model.logitScale, random: &random)
            }, cocoopImages, cocoopLabels),
        ]
        for (name, make, images, labels) in cases {
            let fp32 = try step(.fp32, make, images: images, labels: labels)
            let bf16 = try step(.bf16, make, images: images, labels: labels)
            XCTAssertEqual(bf16.loss, fp32.loss, accuracy: 5e-3 * abs(fp32.loss), name)   // measured ≤ 2.0e-3
            let cosines = zip(bf16.gradients, fp32.gradients).map { cosine($0, $1) }
            print("\(name): loss fp32 \(fp32.loss) bf16 \(bf16.loss), gradient cosines \(cosines)")
            for (i, c) in cosines.enumerated() { XCTAssertGreaterThanOrEqual(c, 0.999, "\(name) gradient \(i)") }
            XCTAssertNotEqual(bf16.gradients[0].toArray().map(\.bitPattern), fp32.gradients[0].toArray().map(\.bitPattern),
                              "\(name): the BF16 step ran in FP32")
        }
    }

    func testBF16TrainingReachesFP32Accuracy() throws {
        guard BF16Support.available else { throw XCTSkip("this CPU has no AVX512-BF16") }
        let p = TrainingTests.Problem()
        var h = Hyperparameters.coop(shots: 8, dataset: "synthetic")
        (h.epochs, h.batchSize, h.learningRate, h.contextLength) = (30, 8, 0.05, 4)
        var accuracy: [Precision: Double] = [:]
        for precision in [Precision.fp32, .bf16] {
            let model = try CLIPModel(directory: AutogradFixtureTests.fixtures.appendingPathComponent("models/tiny-vit"), loadImageTower: false)
            model.text.use(precision)
            let hand = Tensor(shape: [4, model.text.width])   // TrainingTests' hand-crafted start: "X X X X"
            for m in 0..<4 { model.text.embedTokens([7][...], into: hand.data + m * model.text.width) }
            let learner = CoOpLearner(encoder: model.text, layout: p.layout, logitScale: model.logitScale, context: hand)
            let trainer = Trainer(learner: learner, hyperparameters: h, data: p.train, random: TrainingRandom(seed: 1))
            while !trainer.finished { trainer.runEpoch() }
            accuracy[precision] = EvaluationResult(classifier: learner, data: p.test).accuracy
        }
        print("generated problem, CoOp test accuracy: fp32 \(accuracy[.fp32]!)%, bf16 \(accuracy[.bf16]!)%")
        XCTAssertEqual(accuracy[.bf16]!, accuracy[.fp32]!, accuracy: 3.4)   // two of 60 test items (measured: equal)
    }
}
