import Kernels

/// Linear-probe CLIP: multinomial logistic regression on frozen, L2-normalised image features with
/// an L2 penalty λ chosen on the validation split (the papers' baseline; CLIP's uses scikit-learn's
/// L-BFGS with a C search — here full-batch Nesterov gradient descent over a λ grid).
public final class LinearProbe: Classifier {
    public let weight: Tensor   // [K, D]
    public let bias: Tensor     // [K]
    public let lambda: Double
    public var classes: Int { weight.shape[0] }

    /// The λ values tried, strongest last.
    public static let lambdaGrid: [Double] = [1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]

    /// A fitted probe (a checkpoint's W `[K, D]`, b `[K]` and λ).
    public init(weight: Tensor, bias: Tensor, lambda: Double) {
        self.weight = weight; self.bias = bias; self.lambda = lambda
    }

    /// Fits on `train` with a fixed λ.
    public init(train: FeatureSet, classes K: Int, lambda: Double, iterations: Int = 500) {
        let X = train.evaluationFeatures(), N = train.count, D = train.dim
        weight = Tensor(shape: [K, D]); bias = Tensor(shape: [K])
        self.lambda = lambda
        let lookW = Tensor(shape: [K, D]), lookB = Tensor(shape: [K])          // Nesterov look-ahead point
        let prevW = Tensor(shape: [K, D]), prevB = Tensor(shape: [K])
        let logits = Tensor(shape: [N, K]), dW = Tensor(shape: [K, D]), dB = Tensor(shape: [K])
        let step = Float(1 / (0.5 + lambda))
        for t in 0..<iterations {
            // gradient at the look-ahead point
            Linear.forward(logits.data, X.data, weight: lookW.data, bias: lookB.data, rows: N, inFeatures: D, outFeatures: K)
            _ = CosineLoss.crossEntropy(logits.data, labels: train.labels, classes: K, gradient: true)
            dW.fill(0); dB.fill(0)
            Linear.backwardParameters(dWeight: dW.data, dBias: dB.data, logits.data, X.data, rows: N, inFeatures: D, outFeatures: K)
            prevW.data.update(from: weight.data, count: weight.count)
            prevB.data.update(from: bias.data, count: K)
            for i in 0..<weight.count { weight[i] = lookW[i] - step * (dW[i] + Float(lambda) * lookW[i]) }
            for k in 0..<K { bias[k] = lookB[k] - step * dB[k] }
            let momentum = Float(t) / Float(t + 3)
            for i in 0..<weight.count { lookW[i] = weight[i] + momentum * (weight[i] - prevW[i]) }
            for k in 0..<K { lookB[k] = bias[k] + momentum * (bias[k] - prevB[k]) }
        }
    }

    /// Chooses λ on `val` (best accuracy; ties go to the stronger penalty), then returns that fit.
    /// Without a validation split the middle of the grid is used.
    public static func fit(train: FeatureSet, val: FeatureSet?, classes K: Int) -> LinearProbe {
        guard let val else { return LinearProbe(train: train, classes: K, lambda: 1e-3) }
        var best: LinearProbe?
        var bestAccuracy = -1.0
        for lambda in lambdaGrid {
            let probe = LinearProbe(train: train, classes: K, lambda: lambda)
            let accuracy = EvaluationResult(classifier: probe, data: val).accuracy
            if accuracy >= bestAccuracy { best = probe; bestAccuracy = accuracy }
        }
        return best!
    }

    public func logits(images: Tensor) -> Tensor {
        let B = images.shape[0], D = images.shape[1], K = classes
        let out = Tensor(shape: [B, K])
        Linear.forward(out.data, images.data, weight: weight.data, bias: bias.data, rows: B, inFeatures: D, outFeatures: K)
        return out
    }
}

/// The linear probe as a method: fitted on view 0 of the few-shot draw, λ chosen on the task's own
/// val draw (`TrainingInput.validation`), nothing trained epoch by epoch. Its checkpoint (`weight`,
/// `bias`, λ) is a class matrix with a bias; `Scoring.linearProbe` (`cocoon probe`, `reproduce`,
/// the demo) reaches it here.
public enum LinearProbeMethod: MethodDefinition {
    public static let displayName = "linear probe"
    public static let officialCropScale = 0.08
    public static let transfersToOtherClasses = false
    public static let trainsOnAugmentedViews = false
    public static func selection(shots: Int?) -> SelectionKind? { nil }

    public static func defaults(shots: Int?, dataset: String) -> Hyperparameters { .baseline() }

    public static func start(_ input: TrainingInput, random: inout TrainingRandom) throws -> MethodRun {
        run(LinearProbe.fit(train: input.train, val: input.validation, classes: input.context.classnames.count), input)
    }

    public static func resume(_ checkpoint: PromptCheckpoint, input: TrainingInput) throws -> MethodRun {
        run(try classifier(checkpoint, context: input.context) as! LinearProbe, input)
    }

    /// The fitted probe as a finished run: its checkpoint holds W, b and λ.
    static func run(_ probe: LinearProbe, _ input: TrainingInput) -> MethodRun {
        FinishedRun(hyperparameters: input.context.hyperparameters, classifier: probe,
                    tensors: [("weight", probe.weight), ("bias", probe.bias)], scalars: ["lambda": probe.lambda])
    }

    public static func classifier(_ checkpoint: PromptCheckpoint, context: MethodContext) throws -> Classifier {
        let K = context.classnames.count, D = context.model.text.embedDim
        guard let lambda = checkpoint.state.scalars["lambda"] else {
            throw PromptError.invalid("linear-probe checkpoint without λ; refit it with `cocoon tune linear-probe`")
        }
        return LinearProbe(weight: try checkpoint.required("weight", count: K * D).copy(), bias: try checkpoint.required("bias", count: K).copy(),
                           lambda: lambda)
    }
}
