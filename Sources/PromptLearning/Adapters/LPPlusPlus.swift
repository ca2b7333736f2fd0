import Dispatch
import Kernels

/// LP++ (Huang et al., CVPR 2024; FereshteShakeri/FewShot-CLIP-Strong-Baseline
/// `methods/linear_probe_p2.py`, `methods/utils.py`): a linear probe blended with the text
/// classifier, `logit[i, k] = f_i·w_k + b_k + α_k·(f_i·t_k)` (no temperature) on L2-normalised
/// features, trained full-batch with cross-entropy (mean) and data-derived step sizes. The CLI /
/// `reproduce` call `fit`; the result is a classifier (W, b, α, T) for export.
///
/// Initialisation and step sizes, as the official code computes them:
/// - W `[C, D]` = per class the **sum** of its normalised training features (`compute_centroids`,
///   the division by the class count commented out); b = PyTorch's default Linear bias init
///   U(−1/√D, 1/√D) drawn from the caller's `random`; every α_k = α₀ = 250·mean_k(mean over i in
///   class k of f_i·t_k) (`calculate_init_alpha`, computed in Double, stored as Float).
/// - lr_W = 4N / λ_max(FᵀF) (`calculate_lr_w`, scipy `eigh` on the float32 Gram matrix there). Here
///   λ_max is found by power iteration in Double on the same float32 Gram matrix (OpenBLAS ships
///   `dsyevd_`, but cocoon's CBLAS module exposes no LAPACK header): it converges to that
///   matrix's eigenvalue to ~1e-15 and agrees with scipy / torch.linalg.eigh in float32 to their
///   float32 rounding (measured in tools/FIXTURES.md).
/// - lr_α = N / (4·max_k Σ_i (f_i·t_k)²) (`calculate_lr_alpha`, Float as torch).
///
/// Each iteration: SGD(lr_W, momentum 0.9, no weight decay) on W and b; every 10th iteration the
/// plain step α ← α − lr_α·g_α, where g_α is α's `.grad`, which the official code **never zeroes**
/// (`optimizer.zero_grad()` covers only W and b): g_α is the sum of α's gradients of every
/// iteration since the first. Reproduced on purpose (`alphaGradientSum`).
public final class LPPlusPlus: Classifier {
    /// W `[C, D]`, b `[C]`, α `[C]`: the trained state (the last iteration's after `fit`).
    public let weight: Tensor
    public let bias: Tensor
    public let alpha: Tensor
    /// T `[C, D]`, unit rows: Tip-Adapter's text classifier (`AdapterText.ensembleWeights`).
    public let textWeights: Tensor
    /// The training set: normalised features `[N, D]` (the official code encodes one augmented
    /// pass per image) and labels.
    public let features: Tensor
    public let labels: [Int]
    /// f·Tᵀ `[N, C]` of the training features: fixed, so computed once for every iteration.
    let trainTextLogits: Tensor
    /// Step sizes and the initial α, fixed at init.
    public let weightStep: Double
    public let alphaStep: Float
    public let largestEigenvalue: Double
    public let initialAlpha: Float
    /// Σ of α's gradients since the first iteration (the official `alpha_vec.grad`, never zeroed).
    public private(set) var alphaGradientSum: [Float]
    public private(set) var iterationsDone = 0
    let weightOptimizer: SGD, biasOptimizer: SGD
    public var classes: Int { weight.shape[0] }

    public init(features: Tensor, labels: [Int], textWeights: Tensor, random: inout TrainingRandom) {
        let N = features.shape[0], D = features.shape[1], C = textWeights.shape[0]
        precondition(labels.count == N && textWeights.shape[1] == D && labels.allSatisfy { (0..<C).contains($0) })
        self.features = features; self.labels = labels; self.textWeights = textWeights
        weight = Tensor(shape: [C, D]); bias = Tensor(shape: [C]); alpha = Tensor(shape: [C])
        for (i, k) in labels.enumerated() { Elementwise.add(weight.data + k * D, features.data + i * D, count: D) }
        let bound = 1 / Double(D).squareRoot()
        for k in 0..<C { bias[k] = Float((random.uniform() * 2 - 1) * bound) }
        // α₀ = 250 · mean over classes of the class mean of f·t_k
        let textLogits = CosineLoss.logits(images: features, text: textWeights, scale: 1)   // [N, C] f·T
        trainTextLogits = textLogits
        var classSum = [Float](repeating: 0, count: C), classCount = [Int](repeating: 0, count: C)
        for (i, k) in labels.enumerated() { classSum[k] += textLogits[i * C + k]; classCount[k] += 1 }
        var meanOfMeans = 0.0
        for k in 0..<C where classCount[k] > 0 { meanOfMeans += Double(classSum[k] / Float(classCount[k])) }
        initialAlpha = Float(250 * meanOfMeans / Double(C))
        alpha.fill(initialAlpha)
        // lr_α = N / (4 · max_k Σ_i (f·t_k)²)
        var maxSum: Float = 0
        for k in 0..<C {
            var s: Float = 0
            for i in 0..<N { s += textLogits[i * C + k] * textLogits[i * C + k] }
            maxSum = max(maxSum, s)
        }
        alphaStep = Float(N) / (maxSum * 4)
        largestEigenvalue = LPPlusPlus.largestEigenvalue(gramOf: features)
        weightStep = Double(4 * N) / largestEigenvalue
        alphaGradientSum = [Float](repeating: 0, count: C)
        weightOptimizer = SGD(count: C * D, momentum: 0.9, weightDecay: 0)
        biasOptimizer = SGD(count: C, momentum: 0.9, weightDecay: 0)
    }

    public func logits(images: Tensor) -> Tensor {
        LPPlusPlus.logits(images: images, weight: weight, bias: bias, alpha: alpha, textWeights: textWeights)
    }

    /// f·Wᵀ + b + α∘(f·Tᵀ) `[B, C]` for normalised features `[B, D]`: the model during and after training.
    static func logits(images: Tensor, weight: Tensor, bias: Tensor, alpha: Tensor, textWeights: Tensor) -> Tensor {
        logits(images: images, textLogits: CosineLoss.logits(images: images, text: textWeights, scale: 1),
               weight: weight, bias: bias, alpha: alpha)
    }

    /// The same from the features' text logits f·Tᵀ `[B, C]`, when they are already known.
    static func logits(images: Tensor, textLogits text: Tensor, weight: Tensor, bias: Tensor, alpha: Tensor) -> Tensor {
        let B = images.shape[0], D = images.shape[1], C = weight.shape[0]
        let out = Tensor(shape: [B, C])
        Linear.forward(out.data, images.data, weight: weight.data, bias: bias.data, rows: B, inFeatures: D, outFeatures: C)
        for b in 0..<B { for k in 0..<C { out[b * C + k] += alpha[k] * text[b * C + k] } }
        return out
    }

    /// One full-batch iteration: gradients, the SGD step on W and b, α's gradient added to the
    /// never-zeroed sum, and on every 10th iteration (1-based) the α step with that sum.
    @discardableResult
    public func iterate() -> StepResult {
        let N = features.shape[0], D = features.shape[1], C = classes
        let text = trainTextLogits                                                          // [N, C] f·T
        let logits = LPPlusPlus.logits(images: features, textLogits: text, weight: weight, bias: bias, alpha: alpha)   // [N, C]
        let (loss, correct) = CosineLoss.crossEntropy(logits.data, labels: labels, classes: C, gradient: true)
        let dW = Tensor(shape: [C, D]), dB = Tensor(shape: [C])
        Linear.backwardParameters(dWeight: dW.data, dBias: dB.data, logits.data, features.data, rows: N, inFeatures: D, outFeatures: C)
        for k in 0..<C {                                                                    // dα_k = Σ_i G[i,k]·(f_i·t_k)
            var g: Float = 0
            for i in 0..<N { g += logits[i * C + k] * text[i * C + k] }
            alphaGradientSum[k] += g
        }
        withExtendedLifetime((dW, dB)) {
            weightOptimizer.step(parameters: weight.data, gradients: dW.data, learningRate: weightStep)
            biasOptimizer.step(parameters: bias.data, gradients: dB.data, learningRate: weightStep)
        }
        iterationsDone += 1
        if iterationsDone % 10 == 0 {
            for k in 0..<C { alpha[k] -= alphaStep * alphaGradientSum[k] }
        }
        return StepResult(loss: loss, correct: correct, count: N)
    }

    /// The state at one iteration (the best one of `fit`).
    public struct Snapshot {
        public let iteration: Int
        public let weight: Tensor, bias: Tensor, alpha: Tensor
    }

    public struct Report {
        /// Selection accuracy after each iteration (empty without a selection set).
        public var selectionAccuracy: [Double]
        /// 0-based iteration of the last best selection accuracy (`>=`: later ties win).
        public var bestIteration: Int?
        public var bestSelectionAccuracy: Double?
        /// Test accuracy at that iteration (what the official code reports), when `test` was given.
        public var testAccuracy: Double?
        /// W, b, α at that iteration; `fit` leaves the classifier at its last iteration, like the
        /// official code (whose best-model saving is commented out).
        public var best: Snapshot?
    }

    /// Runs `iterations` (official 300) iterations. After each, the accuracy on `selection`; whenever
    /// it is ≥ the best so far (from 0), the accuracy on `test` is recorded and the state kept.
    @discardableResult
    public func fit(iterations: Int = 300, selection: LabeledFeatures?, test: LabeledFeatures? = nil) -> Report {
        var report = Report(selectionAccuracy: [], bestIteration: nil, bestSelectionAccuracy: nil, testAccuracy: nil, best: nil)
        for _ in 0..<iterations {
            iterate()
            if let selection { observe(selection, test: test, report: &report) }
        }
        return report
    }

    /// After an iteration: the accuracy on `selection`, and when it is ≥ the best so far (from 0)
    /// the state kept in `report` with the accuracy on `test`.
    public func observe(_ selection: LabeledFeatures, test: LabeledFeatures? = nil, report: inout Report) {
        let accuracy = selection.accuracy(logits(images: selection.features))
        report.selectionAccuracy.append(accuracy)
        guard accuracy >= (report.bestSelectionAccuracy ?? 0) else { return }
        report.bestIteration = iterationsDone - 1
        report.bestSelectionAccuracy = accuracy
        report.testAccuracy = test.map { $0.accuracy(logits(images: $0.features)) }
        report.best = Snapshot(iteration: iterationsDone - 1, weight: weight.copy(), bias: bias.copy(), alpha: alpha.copy())
    }

    /// λ_max(FᵀF) for features F `[N, D]`: the Gram matrix formed in Float32 as the official code
    /// forms it (`features.T @ features`), then power iteration in Double started from Σ_i f_i,
    /// until the Rayleigh quotient stops rising (at most 100 000 iterations).
    public static func largestEigenvalue(gramOf f: Tensor) -> Double {
        let N = f.shape[0], D = f.shape[1]
        let gram32 = Tensor(shape: [D, D])                                          // [D, D] FᵀF
        GEMM.sgemm(transA: true, m: D, n: D, k: N, a: f.data, lda: D, b: f.data, ldb: D, c: gram32.data, ldc: D)
        let gram = (0..<(D * D)).map { Double(gram32[$0]) }
        var v = [Double](repeating: 0, count: D)
        for i in 0..<N { for a in 0..<D { v[a] += Double(f[i * D + a]) } }
        if v.allSatisfy({ $0 == 0 }) { v = [Double](repeating: 1, count: D) }
        var lambda = 0.0, stalled = 0
        var w = [Double](repeating: 0, count: D)
        for _ in 0..<100_000 {
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard norm > 0 else { return 0 }
            for a in 0..<D { v[a] /= norm }
            for a in 0..<D {
                var s = 0.0
                for b in 0..<D { s += gram[a * D + b] * v[b] }
                w[a] = s
            }
            let rayleigh = zip(v, w).reduce(0) { $0 + $1.0 * $1.1 }              // vᵀGv, ‖v‖ = 1
            stalled = rayleigh <= lambda * (1 + 1e-15) ? stalled + 1 : 0
            lambda = max(lambda, rayleigh)
            if stalled >= 20 { break }
            swap(&v, &w)
        }
        return lambda
    }
}

/// A trained LP++ classifier (W, b, α and the text weights T), as a checkpoint gives it back: scores
/// exactly as `LPPlusPlus.logits`. Reduces to one class matrix W + diag(α)·T with bias b
/// (`foldedWeights`), which `cocoon classifier` exports.
public final class LPPlusPlusClassifier: Classifier {
    public let weight: Tensor, bias: Tensor, alpha: Tensor, textWeights: Tensor
    public var classes: Int { weight.shape[0] }

    public init(weight: Tensor, bias: Tensor, alpha: Tensor, textWeights: Tensor) {
        self.weight = weight; self.bias = bias; self.alpha = alpha; self.textWeights = textWeights
    }

    public func logits(images: Tensor) -> Tensor {
        LPPlusPlus.logits(images: images, weight: weight, bias: bias, alpha: alpha, textWeights: textWeights)
    }

    /// W + diag(α)·T `[C, D]`: logits = f·(this)ᵀ + b up to rounding.
    public func foldedWeights() -> Tensor {
        let out = weight.copy(), D = weight.shape[1]
        for k in 0..<classes { for i in 0..<D { out[k * D + i] += alpha[k] * textWeights[k * D + i] } }
        return out
    }
}

/// An LP++ run: one full-batch iteration per epoch (300), the accuracy on the few-shot val after
/// each, and at the end the state of the last best iteration kept (the official code reports the
/// test accuracy at that iteration). Takes well under a second on cached features: its checkpoint
/// (`weight`, `bias`, `alpha`) is written once, when finished.
public final class LPPlusPlusRun: MethodRun {
    public let hyperparameters: Hyperparameters
    let fit: LPPlusPlus?
    let selection: LabeledFeatures?
    let selectionSource: SelectionSource?
    var report = LPPlusPlus.Report(selectionAccuracy: [], bestIteration: nil, bestSelectionAccuracy: nil, testAccuracy: nil, best: nil)
    var random: TrainingRandom
    public private(set) var classifier: Classifier
    public private(set) var log: [EpochLog] = []
    public private(set) var selected: SelectionReport?

    /// A fresh run: one augmented view per training image drawn from `random` (view 0 for images
    /// without), the text weights of the dataset's Tip-Adapter templates, then LP++'s init.
    init(_ input: TrainingInput, random: TrainingRandom) throws {
        hyperparameters = input.context.hyperparameters
        selection = try input.requireSelection("LP++")
        selectionSource = input.selectionSource
        var random = random
        let train = input.train
        let items = Array(0..<train.count)
        let views = items.map { AdapterBatch.randomView(train, item: $0, random: &random) }
        let (features, labels) = AdapterBatch.gather(train, items: items, views: views)
        let text = try TipAdapterRun.textWeights(input.context)
        let lpp = LPPlusPlus(features: features, labels: labels, textWeights: text, random: &random)
        self.random = random
        fit = lpp
        classifier = lpp
    }

    /// A finished run read back.
    init(finished classifier: LPPlusPlusClassifier, hyperparameters h: Hyperparameters, checkpoint: PromptCheckpoint) {
        hyperparameters = h; fit = nil; selection = nil; selectionSource = nil
        random = TrainingRandom(state: checkpoint.state.randomState)
        self.classifier = classifier
        log = checkpoint.state.log
        selected = checkpoint.state.selected
    }

    public var epochsDone: Int { log.count }
    public var checkpointsEveryEpoch: Bool { false }

    @discardableResult
    public func runEpoch(progress: ((Int, Int, Double, Double) -> Void)?) -> EpochLog {
        let fit = fit!
        let start = DispatchTime.now().uptimeNanoseconds
        let result = fit.iterate()
        fit.observe(selection!, report: &report)
        let entry = EpochLog(epoch: log.count + 1, learningRate: fit.weightStep, loss: result.loss,
                             accuracy: 100 * Double(result.correct) / Double(max(result.count, 1)),
                             seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        log.append(entry)
        progress?(1, 1, entry.loss, entry.accuracy)
        if finished { keepBest() }
        return entry
    }

    /// The state of the last best iteration on the selection data becomes the classifier.
    func keepBest() {
        guard let fit, let best = report.best, let source = selectionSource, let accuracy = report.bestSelectionAccuracy else { return }
        classifier = LPPlusPlusClassifier(weight: best.weight, bias: best.bias, alpha: best.alpha, textWeights: fit.textWeights)
        selected = SelectionReport(source: source, picked: ["iteration": Double(best.iteration + 1)], accuracy: accuracy)
    }

    public func state() -> MethodState {
        let c = classifier as? LPPlusPlusClassifier
        let (w, b, a) = c.map { ($0.weight, $0.bias, $0.alpha) } ?? (fit!.weight, fit!.bias, fit!.alpha)
        return MethodState(tensors: [("weight", w), ("bias", b), ("alpha", a)], selected: selected, epochsDone: epochsDone,
                           randomState: random.state, log: log)
    }
}

/// LP++ as a method (`cocoon tune lp++`): one augmented view (crop scale 0.5–1) per few-shot image,
/// 300 full-batch iterations with LP++'s step sizes, the last best iteration on a few-shot val
/// (`shots` per class, the run's seed) kept. A fixed class matrix plus bias once trained.
public enum LPPlusPlusMethod: MethodDefinition {
    public static let displayName = "LP++"
    public static let officialCropScale = 0.5
    public static func selection(shots: Int?) -> SelectionKind? { .fewShotVal(perClass: shots ?? 16) }
    public static let transfersToOtherClasses = false
    public static let trainsOnAugmentedViews = true

    public static func defaults(shots: Int?, dataset: String) -> Hyperparameters { .lpPlusPlus() }

    public static func start(_ input: TrainingInput, random: inout TrainingRandom) throws -> MethodRun {
        try LPPlusPlusRun(input, random: random)
    }

    public static func resume(_ checkpoint: PromptCheckpoint, input: TrainingInput) throws -> MethodRun {
        LPPlusPlusRun(finished: try classifier(checkpoint, context: input.context) as! LPPlusPlusClassifier,
                      hyperparameters: input.context.hyperparameters, checkpoint: checkpoint)
    }

    public static func classifier(_ checkpoint: PromptCheckpoint, context: MethodContext) throws -> Classifier {
        let text = try TipAdapterRun.textWeights(context)
        let C = text.shape[0], D = text.shape[1]
        return LPPlusPlusClassifier(weight: try checkpoint.required("weight", count: C * D).copy(),
                                    bias: try checkpoint.required("bias", count: C).copy(),
                                    alpha: try checkpoint.required("alpha", count: C).copy(), textWeights: text)
    }
}
