import Formats
import Foundation
import Kernels
import XCTest
@testable import PromptLearning

/// Tip-Adapter, Tip-Adapter-F, CLIP-Adapter, TaskRes and LP++ against the PyTorch references of
/// `Tests/Fixtures/adapters/adapters.ref.safetensors` (tools/fixtures/adapters.py): logits, selected
/// hyper-parameters and trained tensors within 1e-5 relative (max |Δ| / max |ref|). The fixture's
/// random choices come from a port of `TrainingRandom`, so the same seeds walk the same trajectory.
final class AdapterFixtureTests: XCTestCase {
    static let url = AutogradFixtureTests.fixtures.appendingPathComponent("adapters/adapters.ref.safetensors")

    /// The fixture's shared inputs.
    struct Fixture {
        let ref: SafeTensorsFile
        let trainRaw: Tensor            // [N, 11, D] raw views (0 = eval, 1…10 augmented)
        let train: FeatureSet           // the same, normalised
        let val: LabeledFeatures, test: LabeledFeatures
        let valRaw: Tensor
        let text: Tensor                // [T, C, D] raw template features
        let logitScale: Float

        init() throws {
            ref = try SafeTensorsFile(url: AdapterFixtureTests.url)
            trainRaw = try ref.tensor("train.raw")
            let N = trainRaw.shape[0], V = trainRaw.shape[1], D = trainRaw.shape[2]
            let normalized = trainRaw.copy()
            Elementwise.normalizeRows(normalized.data, rows: N * V, dim: D)
            train = FeatureSet(dim: D, labels: try ref.int64s("train.labels").map(Int.init),
                               offsets: (0...N).map { $0 * V }, values: normalized.toArray())
            let file = ref
            val = try Fixture.split(file, "val"); test = try Fixture.split(file, "test")
            valRaw = try file.tensor("val.raw")
            text = try file.tensor("text.raw")
            logitScale = expf(try file.tensor("logit_scale")[0])
        }

        /// A split's raw features normalised, with its labels.
        static func split(_ ref: SafeTensorsFile, _ name: String) throws -> LabeledFeatures {
            let f = try ref.tensor("\(name).raw")
            Elementwise.normalizeRows(f.data, rows: f.shape[0], dim: f.shape[1])
            return LabeledFeatures(features: f, labels: try ref.int64s("\(name).labels").map(Int.init))
        }

        func scalar(_ name: String) throws -> Float { try ref.tensor(name)[0] }
        func int(_ name: String) throws -> Int { Int(try ref.int64s(name)[0]) }
        func ints(_ name: String) throws -> [Int] { try ref.int64s(name).map(Int.init) }

        /// The shuffles and view draws of `epochs` epochs as a loop of cocoon draws them.
        func draws(_ start: TrainingRandom, epochs: Int, batch: Int, dropLast: Bool) -> (orders: [Int], views: [Int]) {
            var random = start
            let N = train.count
            var orders: [Int] = [], views: [Int] = []
            for _ in 0..<epochs {
                var order = Array(0..<N)
                random.shuffle(&order)
                let drawn = dropLast ? (N >= batch ? N / batch * batch : N) : N
                var epochViews = [Int](repeating: 0, count: N)
                for p in 0..<drawn { epochViews[p] = AdapterBatch.randomView(train, item: order[p], random: &random) }
                orders += order; views += epochViews
            }
            return (orders, views)
        }
    }

    /// Measured max relative errors, printed by each test.
    private var measured: [(String, Float)] = []

    @discardableResult
    private func assertClose(_ a: Tensor, _ b: Tensor, _ label: String, relative: Float = 1e-5) -> Float {
        XCTAssertEqual(a.shape, b.shape, label)
        var worst: Float = 0, scale: Float = 0
        for i in 0..<min(a.count, b.count) { worst = max(worst, abs(a[i] - b[i])); scale = max(scale, abs(b[i])) }
        XCTAssertGreaterThan(scale, 0, label)
        XCTAssertLessThanOrEqual(worst / scale, relative, "\(label): max |Δ| \(worst), max |ref| \(scale)")
        measured.append((label, worst / scale))
        return worst / scale
    }

    private func assertClose(_ a: Float, _ b: Float, _ label: String, relative: Float = 1e-5) {
        assertClose(Tensor(shape: [1], values: [a]), Tensor(shape: [1], values: [b]), label, relative: relative)
    }

    override func tearDown() {
        if !measured.isEmpty {
            print("\(name) max relative errors: " + measured.map { "\($0.0) \(String(format: "%.2g", $0.1))" }.joined(separator: ", "))
        }
        measured = []
        super.tearDown()
    }

    /// Raw training views 1…10 as `[N, 10, D]` (what Tip-Adapter averages into keys).
    private func augmentedRaw(_ f: Fixture) -> Tensor {
        let N = f.trainRaw.shape[0], V = f.trainRaw.shape[1], D = f.trainRaw.shape[2]
        let out = Tensor(shape: [N, V - 1, D])
        for n in 0..<N { (out.data + n * (V - 1) * D).update(from: f.trainRaw.data + (n * V + 1) * D, count: (V - 1) * D) }
        return out
    }

    private func tipAdapter(_ f: Fixture) throws -> TipAdapter {
        TipAdapter(textWeights: AdapterText.ensembleWeights(templateFeatures: f.text), keys: TipAdapter.cacheKeys(rawViews: augmentedRaw(f)),
                   keyLabels: f.train.labels, alpha: Double(try f.scalar("tip.init_alpha")), beta: Double(try f.scalar("tip.init_beta")))
    }

    private func grid(_ f: Fixture) throws -> TipAdapterSearchGrid {
        let scale = try f.ref.tensor("tip.search.scale"), steps = try f.ints("tip.search.steps")
        return TipAdapterSearchGrid(betaScale: Double(scale[0]), alphaScale: Double(scale[1]), betaSteps: steps[0], alphaSteps: steps[1])
    }

    func testTrainingRandomPortAndDraws() throws {
        let f = try Fixture()
        var random = TrainingRandom(seed: 12345)
        XCTAssertEqual((0..<4).map { _ in Int64(bitPattern: random.next()) }, try f.ref.int64s("rng.seed12345_first4"))
        for (prefix, dropLast) in [("tipf", false), ("clipad", true), ("taskres", true)] {
            var start = TrainingRandom(seed: UInt64(try f.int("\(prefix).seed")))
            if prefix == "clipad" {      // the adapter's init draws first
                _ = CLIPAdapterLearner(textFeatures: try f.ref.tensor("clipad.text"), logitScale: 1, random: &start)
            }
            let d = f.draws(start, epochs: try f.int("\(prefix).epochs"), batch: try f.int("\(prefix).batch"), dropLast: dropLast)
            XCTAssertEqual(d.orders, try f.ints("\(prefix).orders"), prefix)
            XCTAssertEqual(d.views, try f.ints("\(prefix).views"), prefix)
        }
    }

    func testTipAdapter() throws {
        let f = try Fixture()
        let tip = try tipAdapter(f)
        assertClose(tip.textWeights, try f.ref.tensor("tip.text_weights"), "text weights")
        assertClose(tip.keys, try f.ref.tensor("tip.keys"), "keys")
        assertClose(tip.affinity(f.val.features), try f.ref.tensor("tip.affinity_val"), "affinity")
        assertClose(tip.logits(images: f.val.features), try f.ref.tensor("tip.logits_val"), "logits val")
        let result = tip.search(f.val, grid: try grid(f))
        XCTAssertEqual(result.betaIndex, try f.int("tip.search.beta_index"))
        XCTAssertEqual(result.alphaIndex, try f.int("tip.search.alpha_index"))
        XCTAssertEqual(Float(result.beta), try f.scalar("tip.search.beta"))
        XCTAssertEqual(Float(result.alpha), try f.scalar("tip.search.alpha"))
        XCTAssertEqual(Float(result.accuracy), try f.scalar("tip.search.accuracy"))
        tip.apply(result)
        assertClose(tip.logits(images: f.test.features), try f.ref.tensor("tip.logits_test"), "logits test")
    }

    func testTipAdapterF() throws {
        let f = try Fixture()
        var options = TipAdapterF.Options()
        options.epochs = try f.int("tipf.epochs")
        options.batchSize = try f.int("tipf.batch")
        options.learningRate = Double(try f.scalar("tipf.lr"))
        let accuracies = try f.ref.tensor("tipf.val_accuracy").toArray()

        let last = try tipAdapter(f)
        var random = TrainingRandom(seed: UInt64(try f.int("tipf.seed")))
        let lastReport = TipAdapterF.train(last, data: f.train, options: options, selection: f.val, random: &random)
        assertClose(last.keys, try f.ref.tensor("tipf.keys_last"), "keys last epoch")
        XCTAssertEqual(lastReport.log.map { Float($0.selectionAccuracy!) }, accuracies)
        XCTAssertNil(lastReport.bestEpoch)

        let best = try tipAdapter(f)
        options.keep = .bestOnSelection
        random = TrainingRandom(seed: UInt64(try f.int("tipf.seed")))
        let report = TipAdapterF.train(best, data: f.train, options: options, selection: f.val, random: &random)
        XCTAssertEqual(report.bestEpoch, try f.int("tipf.best_epoch"))
        assertClose(best.keys, try f.ref.tensor("tipf.keys_best"), "keys best epoch")
        let result = best.search(f.val, grid: try grid(f))
        XCTAssertEqual(result.betaIndex, try f.int("tipf.search.beta_index"))
        XCTAssertEqual(result.alphaIndex, try f.int("tipf.search.alpha_index"))
        XCTAssertEqual(Float(result.accuracy), try f.scalar("tipf.search.accuracy"))
        best.apply(result)
        assertClose(best.logits(images: f.test.features), try f.ref.tensor("tipf.logits_test"), "logits test")
    }

    private func dasslHyperparameters(_ f: Fixture, _ prefix: String) throws -> Hyperparameters {
        var h = Hyperparameters.coop(shots: 4, dataset: "synthetic")
        h.epochs = try f.int("\(prefix).epochs")
        h.batchSize = try f.int("\(prefix).batch")
        h.learningRate = Double(try f.scalar("\(prefix).lr"))
        return h
    }

    func testCLIPAdapterThroughTheTrainer() throws {
        let f = try Fixture()
        var random = TrainingRandom(seed: UInt64(try f.int("clipad.seed")))
        let learner = CLIPAdapterLearner(textFeatures: try f.ref.tensor("clipad.text"), logitScale: f.logitScale, random: &random)
        assertClose(learner.weight1, try f.ref.tensor("clipad.fc.0.weight.init"), "fc.0 init", relative: 1e-7)
        assertClose(learner.weight2, try f.ref.tensor("clipad.fc.2.weight.init"), "fc.2 init", relative: 1e-7)
        let h = try dasslHyperparameters(f, "clipad")
        let trainer = Trainer(learner: learner, hyperparameters: h, data: f.train, random: random)
        XCTAssertTrue(trainer.optimizers.allSatisfy { $0 is SGD })
        while !trainer.finished { trainer.runEpoch() }
        XCTAssertEqual(trainer.log.map { Float($0.learningRate) }, try f.ref.tensor("clipad.lrs").toArray())
        assertClose(learner.weight1, try f.ref.tensor("clipad.fc.0.weight"), "fc.0 trained")
        assertClose(learner.weight2, try f.ref.tensor("clipad.fc.2.weight"), "fc.2 trained")
        assertClose(learner.logits(images: f.val.features), try f.ref.tensor("clipad.logits_val"), "logits val (normalised input)")
        assertClose(learner.logits(images: f.valRaw), try f.ref.tensor("clipad.logits_val"), "logits val (raw input)")
    }

    func testTaskResThroughTheTrainer() throws {
        let f = try Fixture()
        let base = AdapterText.meanOfRaw(templateFeatures: f.text)
        assertClose(base, try f.ref.tensor("taskres.base"), "base")
        let learner = TaskResLearner(base: base, scale: Double(try f.scalar("taskres.scale")), logitScale: f.logitScale)
        let h = try dasslHyperparameters(f, "taskres")
        let trainer = Trainer(learner: learner, hyperparameters: h, data: f.train,
                              random: TrainingRandom(seed: UInt64(try f.int("taskres.seed"))))
        XCTAssertTrue(trainer.optimizers.allSatisfy { ($0 as? Adam)?.decay == .coupled })
        while !trainer.finished { trainer.runEpoch() }
        XCTAssertEqual(trainer.log.map { Float($0.learningRate) }, try f.ref.tensor("taskres.lrs").toArray())
        assertClose(learner.residual, try f.ref.tensor("taskres.text_feature_residuals"), "residual x")
        assertClose(learner.classWeights(), try f.ref.tensor("taskres.weights"), "class weights")
        assertClose(learner.logits(images: f.val.features), try f.ref.tensor("taskres.logits_val"), "logits val")
        let exported = TextClassifier(weights: learner.classWeights(), logitScale: learner.logitScale)
        assertClose(exported.logits(images: f.val.features), try f.ref.tensor("taskres.logits_val"), "exported logits val")
    }

    func testLPPlusPlus() throws {
        let f = try Fixture()
        let N = f.train.count, D = f.train.dim
        let features = Tensor(shape: [N, D])          // view 1 of every training item, normalised
        for i in 0..<N { for d in 0..<D { features[i * D + d] = f.train.values[(f.train.offsets[i] + 1) * D + d] } }
        assertClose(features, try f.ref.tensor("lpp.features"), "features")
        var random = TrainingRandom(seed: UInt64(try f.int("lpp.seed")))
        let lpp = LPPlusPlus(features: features, labels: f.train.labels,
                             textWeights: AdapterText.ensembleWeights(templateFeatures: f.text), random: &random)
        assertClose(lpp.weight, try f.ref.tensor("lpp.weight.init"), "W init")
        assertClose(lpp.bias, try f.ref.tensor("lpp.bias.init"), "b init", relative: 1e-7)
        assertClose(Float(lpp.largestEigenvalue), try f.scalar("lpp.lambda_max"), "lambda_max")
        assertClose(Float(lpp.weightStep), try f.scalar("lpp.lr_w"), "lr_W")
        assertClose(lpp.alphaStep, try f.scalar("lpp.lr_alpha"), "lr_alpha")
        assertClose(lpp.initialAlpha, try f.scalar("lpp.alpha0"), "alpha0")
        let report = lpp.fit(iterations: try f.int("lpp.iterations"), selection: f.val, test: f.test)
        assertClose(lpp.weight, try f.ref.tensor("lpp.weight"), "W")
        assertClose(lpp.bias, try f.ref.tensor("lpp.bias"), "b")
        assertClose(lpp.alpha, try f.ref.tensor("lpp.alpha"), "alpha")
        assertClose(lpp.logits(images: f.test.features), try f.ref.tensor("lpp.logits_test"), "logits test")
        XCTAssertEqual(report.selectionAccuracy.map(Float.init), try f.ref.tensor("lpp.val_accuracy").toArray())
        XCTAssertEqual(report.bestIteration, try f.int("lpp.best_iteration"))
        XCTAssertEqual(report.bestSelectionAccuracy.map(Float.init), try f.scalar("lpp.best_val_accuracy"))
        XCTAssertEqual(report.testAccuracy.map(Float.init), try f.scalar("lpp.test_accuracy"))
        let best = try XCTUnwrap(report.best)
        assertClose(best.weight, try f.ref.tensor("lpp.best.weight"), "best W")
        assertClose(best.bias, try f.ref.tensor("lpp.best.bias"), "best b")
        assertClose(best.alpha, try f.ref.tensor("lpp.best.alpha"), "best alpha")
    }
}
