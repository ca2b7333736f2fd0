import CLIP
import Datasets
import Kernels

/// ProGrad (Zhu et al., ICCV 2023; `trainers/prograd.py` + Dassl `prograd_backward_and_update`): a
/// CoOp prompt whose cross-entropy gradient g_ce loses λ times its component along the gradient
/// g_kl of a distillation loss towards zero-shot CLIP, whenever the two conflict (cos < 0); the
/// distillation gradient itself is never applied. Holds the CoOp learner it trains and the teacher's
/// class features (the dataset's ProGrad template, frozen encoder, computed once for the current
/// class set). Built by `ProGradMethod` (below); trainer, evaluator and checkpoints use it as any
/// `PromptLearner` (parameter: `ctx` only; inference: the CoOp logits; reported loss: the
/// cross-entropy, as the official trainer logs `xe_loss`).
public final class ProGradLearner: PromptLearner {
    public let coop: CoOpLearner
    /// `[K, D]` unit rows t_k of the zero-shot teacher.
    public let teacher: Tensor
    /// λ of the projection.
    public let lambda: Float
    /// T of the distillation (`LOSS.T`, 1 in every config).
    public let temperature: Float
    public var classes: Int { coop.classes }
    public var parameters: [(name: String, tensor: Tensor)] { coop.parameters }

    /// What one ProGrad step computes (the fixtures check each term).
    public struct Terms {
        public var crossEntropy: Double
        public var distillation: Double
        public var correct: Int
        /// d CE / d ctx and d KL / d ctx, like the context.
        public var crossEntropyGradient: Tensor
        public var distillationGradient: Tensor
        /// The gradient the optimiser gets: g_ce, projected when `projected`.
        public var gradient: Tensor
        /// ĝ_ce · ĝ_kl (NaN when either gradient is zero; then no projection, as in PyTorch).
        public var cosine: Double
        public var projected: Bool
    }

    /// `teacherTokens`: one row of `contextLength` token ids per class, the dataset's ProGrad template
    /// filled with the class name; encoded once with the frozen text tower and L2-normalised.
    public init(coop: CoOpLearner, teacherTokens: [[Int32]], lambda: Float, temperature: Float = 1) {
        precondition(teacherTokens.count == coop.classes, "one teacher prompt per class")
        self.coop = coop
        self.lambda = lambda
        self.temperature = temperature
        let encoder = coop.promptEncoder.encoder
        teacher = encoder.encode(tokens: teacherTokens)                   // [K, D]
        Elementwise.normalizeRows(teacher.data, rows: teacherTokens.count, dim: encoder.embedDim)
    }

    public func logits(images: Tensor) -> Tensor { coop.logits(images: images) }

    public func step(images: Tensor, labels: [Int]) -> Terms {
        let K = classes, B = labels.count
        let scale = coop.logitScale
        let pass = coop.textPass()                                                     // ŵ [K, D], one forward
        // heads, forward: student logits z = scale · f · ŵᵀ [B, K]; teacher z_zs = scale · f · tᵀ [B, K]
        let logits = CosineLoss.logits(images: images, text: pass.text, scale: scale)
        let teacherLogits = CosineLoss.logits(images: images, text: teacher, scale: scale)
        // distillation, forward and backward: dKL/dz [B, K]
        let dDistill = Tensor(uninitializedShape: [B, K])
        dDistill.data.update(from: logits.data, count: B * K)
        let distillation = CosineLoss.distillation(dDistill.data, teacher: teacherLogits.data, rows: B, classes: K,
                                                   temperature: temperature, gradient: true)
        // cross-entropy, forward and backward: dCE/dz [B, K] (in place)
        let (crossEntropy, correct) = CosineLoss.crossEntropy(logits.data, labels: labels, classes: K, gradient: true)
        // heads' backward to ŵ, then both seeds through the text tower on the one kept forward
        let seeds = [CosineLoss.textGradient(dLogits: logits, images: images, scale: scale),     // [K, D]
                     CosineLoss.textGradient(dLogits: dDistill, images: images, scale: scale)]
        let grads = pass.backward(dText: seeds)
        let (gradient, cosine, projected) = ProGradLearner.project(crossEntropy: grads[0], distillation: grads[1], lambda: lambda)
        return Terms(crossEntropy: crossEntropy, distillation: distillation, correct: correct,
                     crossEntropyGradient: grads[0], distillationGradient: grads[1], gradient: gradient,
                     cosine: cosine, projected: projected)
    }

    /// Per parameter tensor, flattened, with ĝ = g/‖g‖: if ĝ_ce·ĝ_kl < 0 then
    /// g = g_ce − λ·(g_ce·ĝ_kl)·ĝ_kl, else g_ce.
    public static func project(crossEntropy a: Tensor, distillation b: Tensor, lambda: Float)
        -> (gradient: Tensor, cosine: Double, projected: Bool) {
        let n = a.count
        func norm(_ g: Tensor) -> Float {
            var s = 0.0
            for i in 0..<n { s += Double(g[i]) * Double(g[i]) }
            return Float(s.squareRoot())
        }
        let normA = norm(a), normB = norm(b)
        let out = Tensor(uninitializedShape: a.shape)
        out.data.update(from: a.data, count: n)
        guard normA > 0, normB > 0 else { return (out, .nan, false) }
        var cosine = 0.0, along = 0.0       // ĝ_ce·ĝ_kl, g_ce·ĝ_kl
        for i in 0..<n {
            let bHat = Double(b[i] / normB)
            cosine += Double(a[i] / normA) * bHat
            along += Double(a[i]) * bHat
        }
        guard cosine < 0 else { return (out, cosine, false) }
        let c = lambda * Float(along)
        for i in 0..<n { out[i] = a[i] - c * (b[i] / normB) }
        return (out, cosine, true)
    }

    public func lossAndGradients(images: Tensor, labels: [Int]) -> (result: StepResult, gradients: [Tensor]) {
        let t = step(images: images, labels: labels)
        return (StepResult(loss: t.crossEntropy, correct: t.correct, count: labels.count), [t.gradient])
    }
}

/// ProGrad as a method (`cocoon tune prograd --lambda λ`): the official defaults
/// (`Hyperparameters.prograd`), the init phrase right-aligned in the context, the zero-shot
/// teacher from the dataset's ProGrad template, inference by CoOp's class features alone.
public enum ProGradMethod: LearnerMethod {
    public static let displayName = "ProGrad"
    public static let transfersToOtherClasses = true

    public static func defaults(shots: Int?, dataset: String) -> Hyperparameters { .prograd(shots: shots, dataset: dataset) }

    public static func learner(_ context: MethodContext, random: inout TrainingRandom) throws -> PromptLearner {
        try learner(CoOpLearner(context, alignPhraseRight: true, random: &random), context: context)
    }

    public static func learner(_ checkpoint: PromptCheckpoint, context: MethodContext) throws -> PromptLearner {
        try learner(CoOpLearner(checkpoint, context: context, alignPhraseRight: true), context: context)
    }

    public static func classifier(_ checkpoint: PromptCheckpoint, context: MethodContext) throws -> Classifier {
        TextClassifier(try CoOpLearner(checkpoint, context: context, alignPhraseRight: true))
    }

    static func learner(_ coop: CoOpLearner, context: MethodContext) throws -> ProGradLearner {
        ProGradLearner(coop: coop, teacherTokens: try context.tokens(PromptTemplates.progradTemplate(for: context.dataset)),
                       lambda: Float(context.hyperparameters.progradLambda ?? Hyperparameters.progradDefaultLambda))
    }
}
