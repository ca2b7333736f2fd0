import CLIP
import Datasets
import Kernels

/// KgCoOp (Yao et al., CVPR 2023; `trainers/kgcoop.py`): a CoOp prompt trained with
/// `CE + W · (1 − mean_k cos(w_k, w_k^clip))`, which keeps each learned class feature w_k near the
/// hand-crafted one w_k^clip (the dataset's KgCoOp template, frozen encoder, computed once for the
/// current class set). Holds the CoOp learner it trains (its text pass, context and inference are
/// CoOp's) and the anchor. Built by `KgCoOpMethod` (below); the trainer, evaluator and checkpoints use it
/// as any `PromptLearner` (parameter: `ctx` only; inference: the CoOp logits only).
public final class KgCoOpLearner: PromptLearner {
    public let coop: CoOpLearner
    /// `[K, D]` unit rows w_k^clip.
    public let anchor: Tensor
    /// W, the weight of the knowledge-guided term.
    public let weight: Float
    public var classes: Int { coop.classes }
    public var parameters: [(name: String, tensor: Tensor)] { coop.parameters }

    /// What one KgCoOp step computes (the fixtures check each term).
    public struct Terms {
        public var crossEntropy: Double
        /// 1 − (1/K) Σ_k cos(w_k, w_k^clip)
        public var score: Double
        /// crossEntropy + W · score: what the official trainer reports and minimises.
        public var loss: Double
        public var correct: Int
        /// d loss / d ctx, like the context.
        public var gradient: Tensor
    }

    /// `anchorTokens`: one row of `contextLength` token ids per class, the dataset's KgCoOp template
    /// filled with the class name; encoded once with the frozen text tower and L2-normalised.
    public init(coop: CoOpLearner, anchorTokens: [[Int32]], weight: Float) {
        precondition(anchorTokens.count == coop.classes, "one anchor prompt per class")
        self.coop = coop
        self.weight = weight
        let encoder = coop.promptEncoder.encoder
        anchor = encoder.encode(tokens: anchorTokens)                     // [K, D]
        Elementwise.normalizeRows(anchor.data, rows: anchorTokens.count, dim: encoder.embedDim)
    }

    public func logits(images: Tensor) -> Tensor { coop.logits(images: images) }

    public func step(images: Tensor, labels: [Int]) -> Terms {
        let K = classes, D = images.shape[1]
        let pass = coop.textPass()                                                            // ŵ [K, D]
        // head, forward: logits = scale · f · ŵᵀ [B, K], CE; backward: dCE/dŵ [K, D]
        let logits = CosineLoss.logits(images: images, text: pass.text, scale: coop.logitScale)
        let (crossEntropy, correct) = CosineLoss.crossEntropy(logits.data, labels: labels, classes: K, gradient: true)
        let dText = CosineLoss.textGradient(dLogits: logits, images: images, scale: coop.logitScale)
        // knowledge-guided term, forward: score = 1 − (1/K) Σ_k ŵ_k·a_k (both unit rows, so the dot is
        // the cosine); backward: d(W·score)/dŵ_k = −(W/K)·a_k (its radial part is removed with the
        // normalisation's backward, as the cosine's own renormalisation would)
        var cosines = 0.0
        for k in 0..<K {
            let w = pass.text.data + k * D, a = anchor.data + k * D, g = dText.data + k * D
            cosines += Double(Reduce.dot(w, a, count: D))
            let c = -weight / Float(K)
            for i in 0..<D { g[i] += c * a[i] }
        }
        let score = 1 - cosines / Double(K)
        let gradient = pass.backward(dText: [dText])[0]
        return Terms(crossEntropy: crossEntropy, score: score, loss: crossEntropy + Double(weight) * score,
                     correct: correct, gradient: gradient)
    }

    public func lossAndGradients(images: Tensor, labels: [Int]) -> (result: StepResult, gradients: [Tensor]) {
        let t = step(images: images, labels: labels)
        return (StepResult(loss: t.loss, correct: t.correct, count: labels.count), [t.gradient])
    }
}

/// KgCoOp as a method (`cocoon tune kgcoop --w W`): the official defaults (`Hyperparameters.kgcoop`),
/// the anchor built from the dataset's KgCoOp template for the classes being trained, inference
/// by CoOp's class features alone (the anchor only shapes training). The example of
/// docs/DESIGN.md "Adding a method".
public enum KgCoOpMethod: LearnerMethod {
    public static let displayName = "KgCoOp"
    public static let transfersToOtherClasses = true

    public static func defaults(shots: Int?, dataset: String) -> Hyperparameters { .kgcoop() }

    public static func learner(_ context: MethodContext, random: inout TrainingRandom) throws -> PromptLearner {
        try learner(CoOpLearner(context, random: &random), context: context)
    }

    public static func learner(_ checkpoint: PromptCheckpoint, context: MethodContext) throws -> PromptLearner {
        try learner(CoOpLearner(checkpoint, context: context), context: context)
    }

    public static func classifier(_ checkpoint: PromptCheckpoint, context: MethodContext) throws -> Classifier {
        TextClassifier(try CoOpLearner(checkpoint, context: context))
    }

    static func learner(_ coop: CoOpLearner, context: MethodContext) throws -> KgCoOpLearner {
        KgCoOpLearner(coop: coop, anchorTokens: try context.tokens(PromptTemplates.kgcoopTemplate(for: context.dataset)),
                      weight: Float(context.hyperparameters.kgcoopWeight ?? Hyperparameters.kgcoopDefaultWeight))
    }
}
