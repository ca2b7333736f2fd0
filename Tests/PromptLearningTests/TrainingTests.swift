import Foundation
import Kernels
import XCTest
@testable import CLIP
@testable import PromptLearning

/// The training loop on a small generated problem: CoOp beats the hand-crafted prompt, resume is
/// bitwise equal to an uninterrupted run, and the schedule, metrics and probe give known answers.
final class TrainingTests: XCTestCase {
    static let model = try! CLIPModel(directory: AutogradFixtureTests.fixtures.appendingPathComponent("models/tiny-vit"),
                                      loadImageTower: false)

    /// K = 6 classes named by 1–2 random tokens; "images" are the text features of each class under a
    /// hidden context (plus noise), so a learned context can recover what the hand prompt misses.
    struct Problem {
        let layout: PromptLayout
        let train: FeatureSet
        let test: FeatureSet
        static let K = 6

        init(perClassTrain: Int = 8, perClassTest: Int = 10) {
            var random = TrainingRandom(seed: 42)
            let tails: [[Int32]] = (0..<Problem.K).map { k in (0..<(1 + k % 2)).map { _ in Int32(10 + random.below(900)) } + [5, 999] }
            layout = PromptLayout(startOfText: 998, tails: tails, nameLengths: tails.map { $0.count - 2 }, contextLength: 4,
                                  position: .end, classSpecific: false)
            let hidden = Tensor(shape: [4, TrainingTests.model.text.width])
            for i in 0..<hidden.count { hidden[i] = Float(random.normal()) * 0.5 }
            let truth = CoOpLearner(encoder: TrainingTests.model.text, layout: layout, logitScale: 1, context: hidden).classFeatures()
            func sample(_ perClass: Int, views: Int) -> FeatureSet {
                let D = truth.shape[1]
                var values: [Float] = [], labels: [Int] = [], offsets = [0]
                for k in 0..<Problem.K {
                    for _ in 0..<perClass {
                        for _ in 0..<views {
                            var row = (0..<D).map { truth[k * D + $0] + Float(random.normal()) * 0.08 }
                            let n = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
                            row = row.map { $0 / n }
                            values += row
                        }
                        labels.append(k)
                        offsets.append(offsets.last! + views)
                    }
                }
                return FeatureSet(dim: D, labels: labels, offsets: offsets, values: values)
            }
            train = sample(perClassTrain, views: 3)
            test = sample(perClassTest, views: 1)
        }
    }

    private func hyper(epochs: Int) -> Hyperparameters {
        var h = Hyperparameters.coop(shots: 8, dataset: "synthetic")
        h.epochs = epochs
        h.batchSize = 8
        h.learningRate = 0.05
        h.contextLength = 4
        return h
    }

    func testCoOpLearnsAboveTheHandCraftedPrompt() throws {
        let p = Problem()
        let model = TrainingTests.model
        // hand-crafted prompt: every context slot holds the embedding of one fixed word (id 7, "X")
        let hand = Tensor(shape: [4, model.text.width])
        for m in 0..<4 { model.text.embedTokens([7][...], into: hand.data + m * model.text.width) }
        let zeroShot = EvaluationResult(classifier: CoOpLearner(encoder: model.text, layout: p.layout, logitScale: model.logitScale,
                                                                 context: hand.copy()), data: p.test)
        let learner = CoOpLearner(encoder: model.text, layout: p.layout, logitScale: model.logitScale, context: hand)
        let trainer = Trainer(learner: learner, hyperparameters: hyper(epochs: 30), data: p.train, random: TrainingRandom(seed: 1))
        while !trainer.finished { trainer.runEpoch() }
        let learned = EvaluationResult(classifier: learner, data: p.test)
        print("generated problem: hand-crafted prompt \(zeroShot.accuracy)%, CoOp \(learned.accuracy)%")
        XCTAssertLessThan(trainer.log.last!.loss, trainer.log[1].loss, "training loss must fall")
        XCTAssertGreaterThanOrEqual(learned.accuracy, zeroShot.accuracy + 15,
                                    "CoOp \(learned.accuracy)% vs hand-crafted prompt \(zeroShot.accuracy)%")
    }

    /// An Adam run (TaskRes) interrupted after 2 of 4 epochs and resumed from its checkpoint (the
    /// moments and step count as `optimizer.<name>.exp_avg|exp_avg_sq|step`) ends on the bits of the
    /// uninterrupted run; a checkpoint without them would restart Adam's bias correction.
    func testAdamResumeEqualsUninterruptedBitForBit() throws {
        let p = Problem(perClassTrain: 4, perClassTest: 1)
        let base = Tensor(shape: [Problem.K, p.train.dim])
        for k in 0..<Problem.K { (base.data + k * p.train.dim).update(from: p.train.evaluationFeatures().data + k * 4 * p.train.dim, count: p.train.dim) }
        var h = Hyperparameters.taskres(shots: 4, dataset: "synthetic")
        h.epochs = 4
        h.batchSize = 8
        func fresh() -> Trainer {
            Trainer(learner: TaskResLearner(base: base, scale: 0.5, logitScale: 50), hyperparameters: h, data: p.train, random: TrainingRandom(seed: 7))
        }
        let straight = fresh()
        while !straight.finished { straight.runEpoch() }
        let first = fresh()
        first.runEpoch(); first.runEpoch()
        let recipe = PromptRecipe(method: "taskres", classnames: (0..<6).map { "c\($0)" }, modelFingerprint: "f", modelDirectory: "m",
                                  store: "s", dataset: "d", shots: 4, classes: "all", extractor: "e", hyperparameters: h)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("adam-resume-\(getpid()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try PromptCheckpoint(recipe: recipe, state: first.state()).write(to: url)
        let saved = try PromptCheckpoint.read(from: url)
        XCTAssertEqual(saved.state.optimizer.map(\.name).sorted(), ["optimizer.text_feature_residuals.exp_avg",
                                                                   "optimizer.text_feature_residuals.exp_avg_sq",
                                                                   "optimizer.text_feature_residuals.step"])
        XCTAssertEqual(saved.tensor("optimizer.text_feature_residuals.step")?[0], Float(2 * first.batchesPerEpoch))
        let resumed = Trainer(learner: TaskResLearner(base: base, scale: 0.5, logitScale: 50,
                                                      residual: saved.tensor("text_feature_residuals")!.copy()),
                              hyperparameters: h, data: p.train, random: TrainingRandom(seed: 999))
        try resumed.restore(saved)
        while !resumed.finished { resumed.runEpoch() }
        let a = (straight.learner as! TaskResLearner).residual.toArray(), b = (resumed.learner as! TaskResLearner).residual.toArray()
        XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), "resumed residual differs from the uninterrupted run")
        XCTAssertEqual(straight.log.map(\.loss), resumed.log.map(\.loss))
    }

    func testResumeEqualsUninterruptedBitForBit() throws {
        let p = Problem(perClassTrain: 4, perClassTest: 1)
        let model = TrainingTests.model
        func fresh() -> Trainer {
            var random = TrainingRandom(seed: 7)
            let learner = CoOpLearner(encoder: model.text, layout: p.layout, logitScale: model.logitScale, random: &random)
            return Trainer(learner: learner, hyperparameters: hyper(epochs: 4), data: p.train, random: random)
        }
        let straight = fresh()
        while !straight.finished { straight.runEpoch() }

        let first = fresh()
        first.runEpoch(); first.runEpoch()
        let recipe = PromptRecipe(method: "coop", classnames: (0..<6).map { "c\($0)" }, modelFingerprint: "f", modelDirectory: "m",
                                  store: "s", dataset: "d", shots: 4, classes: "all", extractor: "e", hyperparameters: hyper(epochs: 4))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("resume-\(getpid()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try PromptCheckpoint(recipe: recipe, state: first.state()).write(to: url)

        let saved = try PromptCheckpoint.read(from: url)
        XCTAssertEqual(saved.recipe, recipe)
        XCTAssertEqual(saved.state.epochsDone, 2)
        let resumed = Trainer(learner: CoOpLearner(encoder: model.text, layout: p.layout, logitScale: model.logitScale,
                                                   context: saved.tensor("ctx")!),
                              hyperparameters: hyper(epochs: 4), data: p.train, random: TrainingRandom(seed: 999))
        try resumed.restore(saved)
        while !resumed.finished { resumed.runEpoch() }
        let a = (straight.learner as! CoOpLearner).context.toArray(), b = (resumed.learner as! CoOpLearner).context.toArray()
        XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), "resumed context differs from the uninterrupted run")
        XCTAssertEqual(straight.log.map(\.loss), resumed.log.map(\.loss))
    }

    func testLearningRateSchedule() {
        var h = Hyperparameters.coop(shots: 16, dataset: "oxford_pets")
        XCTAssertEqual(h.epochs, 200)
        XCTAssertEqual(Hyperparameters.coop(shots: 1, dataset: "dtd").epochs, 50)
        XCTAssertEqual(Hyperparameters.coop(shots: 4, dataset: "dtd").epochs, 100)
        XCTAssertEqual(Hyperparameters.coop(shots: 16, dataset: "ImageNet").epochs, 50)
        h.epochs = 10
        XCTAssertEqual(h.learningRate(epoch: 0), 1e-5)
        XCTAssertEqual(h.learningRate(epoch: 1), 0.002, accuracy: 1e-15)
        XCTAssertEqual(h.learningRate(epoch: 6), 0.001 * (1 + cos(Double.pi * 5 / 10)), accuracy: 1e-15)
        XCTAssertEqual(h.learningRate(epoch: 10), 0.001 * (1 + cos(Double.pi * 9 / 10)), accuracy: 1e-15)
    }

    func testAccuracyAndMacroF1KnownAnswer() {
        // predictions 0,0,1,2,2,2 for labels 0,1,1,2,2,0 → accuracy 4/6; F1: class0 2·1/(2+2)=0.5,
        // class1 2·1/(1+2)=0.667, class2 2·2/(3+2)=0.8 → macro 0.6556 (scikit-learn)
        let predictions = [0, 0, 1, 2, 2, 2], labels = [0, 1, 1, 2, 2, 0]
        let logits = Tensor(shape: [6, 3])
        for (n, p) in predictions.enumerated() { logits[n * 3 + p] = 1 }
        let r = EvaluationResult(logits: logits, labels: labels)
        XCTAssertEqual(r.accuracy, 100 * 4 / 6, accuracy: 1e-9)
        XCTAssertEqual(r.macroF1, 100 * (0.5 + 2.0 / 3 + 0.8) / 3, accuracy: 1e-9)
        XCTAssertEqual(harmonicMean(80, 60), 2 * 80 * 60 / 140.0, accuracy: 1e-12)
    }

    func testLinearProbeSeparatesTheGeneratedClasses() {
        let p = Problem()
        let probe = LinearProbe.fit(train: p.train, val: p.test, classes: Problem.K)
        XCTAssertGreaterThanOrEqual(EvaluationResult(classifier: probe, data: p.test).accuracy, 95)
        XCTAssertTrue(LinearProbe.lambdaGrid.contains(probe.lambda))
    }

    func testNearestWordsFindsTheTokenItself() throws {
        // the real BPE vocabulary is too large for tiny-vit's 1000-row table: check distances directly
        let model = TrainingTests.model
        let W = model.text.width
        let context = Tensor(shape: [2, W])
        model.text.embedTokens([123, 456][...], into: context.data)
        context[W] += 0.25
        let matches = try NearestWords.search(context: context, table: model.text.tokenEmbedding, top: 3) { "t\($0)" }
        XCTAssertEqual(matches.map { $0[0].token }, ["t123", "t456"])
        XCTAssertEqual(matches[0][0].distance, 0, accuracy: 1e-3)
        XCTAssertEqual(matches[1][0].distance, 0.25, accuracy: 1e-3)
        XCTAssertLessThanOrEqual(matches[0][1].distance, matches[0][2].distance)
        XCTAssertGreaterThan(matches[0][1].distance, 0.1)
        XCTAssertThrowsError(try NearestWords.search(context: context, model: model, top: 3)) { error in
            XCTAssertTrue("\(error)".contains("no tokenizer"), "\(error)")
        }
    }
}
