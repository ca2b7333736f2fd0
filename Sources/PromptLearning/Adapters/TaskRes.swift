import Datasets
import Kernels

/// TaskRes (Yu et al., CVPR 2023; geekyutao/TaskRes `trainers/taskres.py`): a learned residual on the
/// text classifier, `t' = t + α·x`, `logits = exp(logit_scale)·(f/‖f‖)·(t'/‖t'‖)ᵀ`, cross-entropy;
/// t `[C, D]` is the base classifier (`AdapterText.meanOfRaw`: the plain mean of the templates' raw
/// text features, never normalised), x `[C, D]` starts at zero and is the only trainable tensor.
/// A `PromptLearner` trained by `Trainer` with Dassl's Adam (betas 0.9/0.999, coupled weight decay
/// 5e-4) — its `makeOptimizer` answers Adam. Once trained it is a fixed class matrix
/// (`classWeights`), exported like a zero-shot classifier.
public final class TaskResLearner: PromptLearner {
    /// t `[C, D]`, unnormalised.
    public let base: Tensor
    /// x `[C, D]` (`text_feature_residuals`), zeros at the start.
    public let residual: Tensor
    /// α (`RESIDUAL_SCALE`): 0.5, OxfordFlowers 1.0 (`Hyperparameters.taskres`).
    public let scale: Float
    public let logitScale: Float
    public var classes: Int { base.shape[0] }

    /// `logitScale` is the multiplier exp(logit_scale); `residual` nil starts from zeros.
    public init(base: Tensor, scale: Double, logitScale: Float, residual: Tensor? = nil) {
        precondition(residual == nil || residual!.shape == base.shape)
        self.base = base
        self.residual = residual ?? Tensor(shape: base.shape)
        self.scale = Float(scale)
        self.logitScale = logitScale
    }

    public var parameters: [(name: String, tensor: Tensor)] { [("text_feature_residuals", residual)] }

    /// Dassl's Adam with the run's weight decay (coupled L2, as `torch.optim.Adam`).
    public func makeOptimizer(parameterCount: Int, hyperparameters h: Hyperparameters) -> ParameterOptimizer {
        Adam.dassl(count: parameterCount, weightDecay: h.weightDecay)
    }

    /// t' = t + α·x `[C, D]`, unnormalised.
    func adjusted() -> Tensor {
        let t = base.copy()
        for i in 0..<t.count { t[i] = base[i] + scale * residual[i] }
        return t
    }

    /// t'/‖t'‖ `[C, D]`: the trained classifier as a fixed class matrix (with `logitScale`, a
    /// `TextClassifier` scoring exactly like this learner).
    public func classWeights() -> Tensor {
        let t = adjusted()
        Elementwise.normalizeRows(t.data, rows: classes, dim: t.shape[1])
        return t
    }

    /// Logits `[B, C]` for L2-normalised features `[B, D]` (the official code normalises the raw
    /// feature first: the same thing).
    public func logits(images: Tensor) -> Tensor {
        CosineLoss.logits(images: images, text: classWeights(), scale: logitScale)
    }

    public func lossAndGradients(images: Tensor, labels: [Int]) -> (result: StepResult, gradients: [Tensor]) {
        let B = images.shape[0], D = images.shape[1], C = classes
        let text = adjusted()                                                      // [C, D] t'
        let norms = Elementwise.normalizeRows(text.data, rows: C, dim: D)          // now t'/‖t'‖
        let logits = CosineLoss.logits(images: images, text: text, scale: logitScale)   // [B, C]
        let (loss, correct) = CosineLoss.crossEntropy(logits.data, labels: labels, classes: C, gradient: true)
        // d t̂ [C, D] = scale · dlogitsᵀ · f;  d t' through the normalisation;  d x = α · d t'
        let gradient = Tensor(shape: [C, D])
        GEMM.sgemm(transA: true, m: C, n: D, k: B, alpha: logitScale, a: logits.data, lda: C, b: images.data, ldb: D,
                   c: gradient.data, ldc: D)
        Normalize.backward(gradient.data, normalized: text.data, norms: norms, rows: C, dim: D)
        for i in 0..<gradient.count { gradient[i] *= scale }
        return (StepResult(loss: loss, correct: correct, count: B), [gradient])
    }
}

/// TaskRes as a method (`cocoon tune taskres --scale A`): the residual on the base classifier of
/// the classes trained; once trained a fixed class matrix (`TextClassifier`), so it exports as one.
/// The residual belongs to its classes: it does not transfer.
public enum TaskResMethod: LearnerMethod {
    public static let displayName = "TaskRes"
    public static let transfersToOtherClasses = false

    public static func defaults(shots: Int?, dataset: String) -> Hyperparameters { .taskres(shots: shots, dataset: dataset) }

    public static func learner(_ context: MethodContext, random: inout TrainingRandom) throws -> PromptLearner {
        TaskResLearner(base: try base(context), scale: context.hyperparameters.taskresScale ?? 0.5, logitScale: context.model.logitScale)
    }

    public static func learner(_ checkpoint: PromptCheckpoint, context: MethodContext) throws -> PromptLearner {
        let base = try base(context)
        let residual = try checkpoint.required("text_feature_residuals", count: base.count)
        return TaskResLearner(base: base, scale: context.hyperparameters.taskresScale ?? 0.5, logitScale: context.model.logitScale,
                              residual: Tensor(shape: base.shape, values: residual.toArray()))
    }

    public static func classifier(_ checkpoint: PromptCheckpoint, context: MethodContext) throws -> Classifier {
        let learner = try self.learner(checkpoint, context: context) as! TaskResLearner
        return TextClassifier(weights: learner.classWeights(), logitScale: learner.logitScale)
    }

    /// The base classifier t `[C, D]`: the plain mean of the templates' raw text features.
    static func base(_ context: MethodContext) throws -> Tensor {
        AdapterText.meanOfRaw(templateFeatures: try context.templateFeatures(templates(dataset: context.dataset)))
    }

    /// The base classifier's templates: ImageNet `IMAGENET_TEMPLATES_SELECT` + its hand-crafted
    /// template (8), every other dataset only its hand-crafted template (CoOp's `CUSTOM_TEMPLATES`).
    public static func templates(dataset: String?) -> [String] {
        let name = dataset.flatMap { try? DatasetCatalog.canonicalName($0) } ?? dataset ?? ""
        let own = PromptTemplates.templates(for: name).zeroShot
        return name == "ImageNet" ? PromptTemplates.imagenetTemplatesSelect + [own] : [own]
    }
}
