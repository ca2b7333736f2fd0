import Datasets
import Kernels

/// CLIP-Adapter (Gao et al., arXiv 2110.04544; gaopengcuhk/CLIP-Adapter `clip_adapter.py`): a residual
/// bottleneck on the image feature, `A(f) = ReLU(ReLU(f·W1ᵀ)·W2ᵀ)` with W1 `[c/4, c]`, W2 `[c, c/4]`
/// (no biases), `f' = 0.2·A(f) + 0.8·f`, `logits = exp(logit_scale)·(f'/‖f'‖)·(t/‖t‖)ᵀ` over one
/// fixed text feature per class (CoOp's hand-crafted template), cross-entropy. Only W1, W2 train.
/// A `PromptLearner`, so `Trainer` runs it (Dassl's loop and SGD).
///
/// The official adapter reads the **raw** image feature. Because A is positively homogeneous
/// (bias-free linear layers and ReLUs), f' and hence the logits and gradients are the same for f and
/// f/‖f‖: raw or L2-normalised input gives the same result up to rounding (1.2e-7 relative on the
/// fixture's trained weights). So the trainer's normalised `FeatureSet` serves, and so do raw features.
///
/// The repository fixes neither optimiser nor schedule (its README: "follow CoOp's command").
/// `Hyperparameters.clipAdapter` uses CoOp's Dassl recipe with LP++'s note for CLIP-Adapter
/// (SGD lr 0.01, batch 32): momentum 0.9, weight decay 5e-4, 1 warm-up epoch at 1e-5, cosine per
/// epoch, CoOp's epochs per shot count. All are overridable.
public final class CLIPAdapterLearner: PromptLearner {
    /// t/‖t‖ `[C, D]`: the class text features, normalised once.
    public let textFeatures: Tensor
    /// `fc.0.weight` `[c/4, c]` and `fc.2.weight` `[c, c/4]` (PyTorch layout `[out, in]`).
    public let weight1: Tensor
    public let weight2: Tensor
    /// The residual ratio of the adapted feature (0.2 in the official code).
    public let ratio: Float
    public let logitScale: Float
    public var classes: Int { textFeatures.shape[0] }

    /// Fresh adapter: weights drawn as PyTorch's default Linear init (kaiming-uniform a = √5, i.e.
    /// U(−1/√in, 1/√in)), W1 then W2 row-major, from the caller's `random`. `textFeatures` `[C, D]`
    /// raw or normalised; `logitScale` is the multiplier exp(logit_scale).
    public convenience init(textFeatures: Tensor, logitScale: Float, reduction: Int = 4, ratio: Float = 0.2,
                            random: inout TrainingRandom) {
        let c = textFeatures.shape[1], hidden = c / reduction
        let w1 = Tensor(shape: [hidden, c]), w2 = Tensor(shape: [c, hidden])
        for (t, fanIn) in [(w1, c), (w2, hidden)] {
            let bound = 1 / Double(fanIn).squareRoot()
            for i in 0..<t.count { t[i] = Float((random.uniform() * 2 - 1) * bound) }
        }
        self.init(textFeatures: textFeatures, logitScale: logitScale, weight1: w1, weight2: w2, ratio: ratio)
    }

    /// Adapter with given weights (a checkpoint, the fixtures).
    public init(textFeatures: Tensor, logitScale: Float, weight1: Tensor, weight2: Tensor, ratio: Float = 0.2) {
        precondition(weight1.shape == [weight2.shape[1], weight2.shape[0]] && weight2.shape[0] == textFeatures.shape[1])
        let text = textFeatures.copy()
        Elementwise.normalizeRows(text.data, rows: text.shape[0], dim: text.shape[1])
        self.textFeatures = text
        self.logitScale = logitScale; self.weight1 = weight1; self.weight2 = weight2; self.ratio = ratio
    }

    /// Names as in the official state dict of the registered `clip_adapter` module.
    public var parameters: [(name: String, tensor: Tensor)] { [("fc.0.weight", weight1), ("fc.2.weight", weight2)] }

    /// What backward reads from one forward pass.
    struct Activations {
        let hidden: Tensor      // [B, h] f·W1ᵀ before ReLU
        let activated: Tensor   // [B, h] after ReLU
        let output: Tensor      // [B, c] h·W2ᵀ before ReLU
        let adapted: Tensor     // [B, c] f'/‖f'‖
        let norms: [Float]      // [B] ‖f'‖
    }

    func forward(_ images: Tensor) -> Activations {
        let B = images.shape[0], c = weight2.shape[0], h = weight1.shape[0]
        let hidden = Tensor(shape: [B, h]), activated = Tensor(shape: [B, h])
        let output = Tensor(shape: [B, c]), adapted = Tensor(shape: [B, c])
        Linear.forward(hidden.data, images.data, weight: weight1.data, bias: nil, rows: B, inFeatures: c, outFeatures: h)
        ReLU.forward(activated.data, hidden.data, count: hidden.count)
        Linear.forward(output.data, activated.data, weight: weight2.data, bias: nil, rows: B, inFeatures: h, outFeatures: c)
        let keep = 1 - ratio
        for i in 0..<adapted.count { adapted[i] = ratio * max(output[i], 0) + keep * images[i] }   // 0.2·A(f) + 0.8·f
        let norms = Elementwise.normalizeRows(adapted.data, rows: B, dim: c)
        return Activations(hidden: hidden, activated: activated, output: output, adapted: adapted, norms: norms)
    }

    public func logits(images: Tensor) -> Tensor {
        CosineLoss.logits(images: forward(images).adapted, text: textFeatures, scale: logitScale)   // [B, C]
    }

    public func lossAndGradients(images: Tensor, labels: [Int]) -> (result: StepResult, gradients: [Tensor]) {
        let B = images.shape[0], c = weight2.shape[0], h = weight1.shape[0], C = classes
        let a = forward(images)
        let logits = CosineLoss.logits(images: a.adapted, text: textFeatures, scale: logitScale)   // [B, C]
        let (loss, correct) = CosineLoss.crossEntropy(logits.data, labels: labels, classes: C, gradient: true)
        // d f̂ [B, c] = scale · dlogits · t̂, then through the normalisation: d f'
        let dAdapted = Tensor(shape: [B, c])
        GEMM.sgemm(m: B, n: c, k: C, alpha: logitScale, a: logits.data, lda: C, b: textFeatures.data, ldb: c,
                   c: dAdapted.data, ldc: c)
        Normalize.backward(dAdapted.data, normalized: a.adapted.data, norms: a.norms, rows: B, dim: c)
        // d output [B, c] = ratio · d f' where the second ReLU was active
        let dOutput = Tensor(shape: [B, c])
        for i in 0..<dOutput.count { dOutput[i] = a.output[i] > 0 ? ratio * dAdapted[i] : 0 }
        let dW1 = Tensor(shape: weight1.shape), dW2 = Tensor(shape: weight2.shape)
        Linear.backwardParameters(dWeight: dW2.data, dBias: nil, dOutput.data, a.activated.data, rows: B, inFeatures: h, outFeatures: c)
        let dHidden = Tensor(shape: [B, h])                                                     // [B, h]
        Linear.backwardInput(dHidden.data, dOutput.data, weight: weight2.data, rows: B, inFeatures: h, outFeatures: c)
        ReLU.backward(dHidden.data, dHidden.data, a.hidden.data, count: dHidden.count)
        Linear.backwardParameters(dWeight: dW1.data, dBias: nil, dHidden.data, images.data, rows: B, inFeatures: c, outFeatures: h)
        return (StepResult(loss: loss, correct: correct, count: B), [dW1, dW2])
    }
}

/// CLIP-Adapter as a method (`cocoon tune clip-adapter --ratio R`): the adapter on the image
/// feature, one hand-crafted text feature per class (CoOp's template of the dataset, rebuilt for
/// other classes: the adapter transfers).
public enum CLIPAdapterMethod: LearnerMethod {
    public static let displayName = "CLIP-Adapter"
    public static let transfersToOtherClasses = true

    public static func defaults(shots: Int?, dataset: String) -> Hyperparameters { .clipAdapter(shots: shots, dataset: dataset) }

    public static func learner(_ context: MethodContext, random: inout TrainingRandom) throws -> PromptLearner {
        CLIPAdapterLearner(textFeatures: try textFeatures(context), logitScale: context.model.logitScale,
                           ratio: Float(context.hyperparameters.clipAdapterRatio ?? 0.2), random: &random)
    }

    public static func learner(_ checkpoint: PromptCheckpoint, context: MethodContext) throws -> PromptLearner {
        let w1 = try checkpoint.required("fc.0.weight"), w2 = try checkpoint.required("fc.2.weight")
        let text = try textFeatures(context)
        guard w1.shape.count == 2, w2.shape == [w1.shape[1], w1.shape[0]], w2.shape[0] == text.shape[1] else {
            throw PromptError.invalid("CLIP-Adapter weights \(w1.shape), \(w2.shape) do not fit the model's \(text.shape[1])-wide features; use the model it was trained with")
        }
        return CLIPAdapterLearner(textFeatures: text, logitScale: context.model.logitScale, weight1: w1.copy(), weight2: w2.copy(),
                                  ratio: Float(context.hyperparameters.clipAdapterRatio ?? 0.2))
    }

    /// `[C, D]` raw text features of the dataset's hand-crafted template (CoOp's `CUSTOM_TEMPLATES`).
    static func textFeatures(_ context: MethodContext) throws -> Tensor {
        let template = PromptTemplates.templates(for: context.dataset ?? "").zeroShot
        let t = try context.templateFeatures([template])                      // [1, C, D]
        t.reshape([context.classnames.count, t.shape[2]])
        return t
    }
}
