import Formats
import Foundation
import Kernels
import XCTest
@testable import CLIP
@testable import PromptLearning

/// CoOp (every class-token position, unified and class-specific) and CoCoOp against torch autograd
/// on `Tests/Fixtures/coop/coop.ref.safetensors` (tiny-vit text tower, tools/fixtures/coop.py):
/// logits, loss, gradients (rel. ≤ 1e-4) and two SGD steps.
final class AutogradFixtureTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    struct Setup {
        let model: CLIPModel
        let ref: SafeTensorsFile
        let tails: [[Int32]]
        let nameLengths: [Int]
        let images: Tensor

        init(imagesKey: String) throws {
            model = try CLIPModel(directory: AutogradFixtureTests.fixtures.appendingPathComponent("models/tiny-vit"),
                                  loadImageTower: false)
            ref = try SafeTensorsFile(url: AutogradFixtureTests.fixtures.appendingPathComponent("coop/coop.ref.safetensors"))
            let prompts = try ref.int64s("coop.prompts").map(Int32.init)
            nameLengths = try ref.int64s("coop.name_lens").map(Int.init)
            tails = (0..<nameLengths.count).map { k in
                let row = Array(prompts[k * 77..<(k + 1) * 77])
                return Array(row[5...TextTransformer.eotIndex(row)])          // after SOT + 4 context slots
            }
            images = try ref.tensor(imagesKey)
            Elementwise.normalizeRows(images.data, rows: images.shape[0], dim: images.shape[1])
        }

        func layout(_ position: ClassTokenPosition, classSpecific: Bool) -> PromptLayout {
            PromptLayout(startOfText: 998, tails: tails, nameLengths: nameLengths, contextLength: 4,
                         position: position, classSpecific: classSpecific)
        }
    }

    private func assertClose(_ a: Tensor, _ b: Tensor, _ label: String, relative: Float = 1e-4) {
        XCTAssertEqual(a.count, b.count, label)
        var worst: Float = 0, scale: Float = 0
        for i in 0..<min(a.count, b.count) { worst = max(worst, abs(a[i] - b[i])); scale = max(scale, abs(b[i])) }
        XCTAssertGreaterThan(scale, 0, label)
        XCTAssertLessThanOrEqual(worst / scale, relative, "\(label): max |Δ| \(worst), max |ref| \(scale)")
    }

    func testCoOpEveryVariantMatchesAutograd() throws {
        let s = try Setup(imagesKey: "coop.image_features")
        let labels = try s.ref.int64s("coop.labels").map(Int.init)
        for variant in ["end", "middle", "front", "csc_end", "csc_middle", "csc_front"] {
            let csc = variant.hasPrefix("csc_")
            let position = ClassTokenPosition(rawValue: csc ? String(variant.dropFirst(4)) : variant)!
            for (chunk, budget) in [(nil, 3 << 30), (2, 0)] as [(Int?, Int)] {   // passes kept for backward, and chunked recomputation
                let context = try s.ref.tensor("coop.\(variant).ctx")
                let learner = CoOpLearner(encoder: s.model.text, layout: s.layout(position, classSpecific: csc),
                                          logitScale: s.model.logitScale, context: context, chunkSize: chunk,
                                          memoryBudget: budget)
                if chunk != nil { learner.promptEncoder.bucketRows = 1 }   // one pass per suffix length
                let label = "\(variant) chunk \(String(describing: chunk))"
                assertClose(learner.logits(images: s.images), try s.ref.tensor("coop.\(variant).logits"), "\(label) logits")
                let (result, grads) = learner.lossAndGradients(images: s.images, labels: labels)
                XCTAssertEqual(result.loss, Double(try s.ref.tensor("coop.\(variant).loss")[0]), accuracy: 1e-4, label)
                assertClose(grads[0], try s.ref.tensor("coop.\(variant).grad_ctx"), "\(label) grad")
                // two SGD steps on the same batch
                let sgd = SGD(count: context.count, momentum: 0.9, weightDecay: 5e-4)
                let first = grads[0]
                withExtendedLifetime(first) { sgd.step(parameters: context.data, gradients: first.data, learningRate: 0.002) }
                let second = learner.lossAndGradients(images: s.images, labels: labels).gradients[0]
                withExtendedLifetime(second) { sgd.step(parameters: context.data, gradients: second.data, learningRate: 0.002) }
                assertClose(context, try s.ref.tensor("coop.\(variant).ctx_after_2_steps"), "\(label) after 2 steps", relative: 1e-5)
            }
        }
    }

    func testCoCoOpMatchesAutograd() throws {
        let s = try Setup(imagesKey: "cocoop.image_features")
        let labels = try s.ref.int64s("cocoop.labels").map(Int.init)
        var random = TrainingRandom(seed: 1)
        for (chunk, budget) in [(nil, 3 << 30), (3, 0)] as [(Int?, Int)] {
            let learner = try CoCoOpLearner(encoder: s.model.text, layout: s.layout(.end, classSpecific: false),
                                            logitScale: s.model.logitScale, random: &random, chunkSize: chunk,
                                            memoryBudget: budget)
            if chunk != nil { learner.promptEncoder.bucketRows = 1 }
            for (name, tensor) in learner.parameters {
                let stored = try s.ref.tensor(name == "ctx" ? "cocoop.ctx" : "cocoop." + name.dropFirst("meta_net.".count))
                tensor.data.update(from: stored.data, count: tensor.count)
            }
            assertClose(learner.logits(images: s.images), try s.ref.tensor("cocoop.logits"), "cocoop logits, chunk \(String(describing: chunk))")
            let (result, grads) = learner.lossAndGradients(images: s.images, labels: labels)
            XCTAssertEqual(result.loss, Double(try s.ref.tensor("cocoop.loss")[0]), accuracy: 1e-4)
            let names = ["grad_ctx", "grad_linear1.weight", "grad_linear1.bias", "grad_linear2.weight", "grad_linear2.bias"]
            for (g, name) in zip(grads, names) { assertClose(g, try s.ref.tensor("cocoop.\(name)"), "cocoop \(name), chunk \(String(describing: chunk))") }
        }
    }
}
