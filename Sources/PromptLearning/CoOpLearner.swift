import CLIP
import Kernels

/// What one optimisation step reports.
public struct StepResult {
    public var loss: Double
    public var correct: Int
    public var count: Int
}

/// Anything that scores L2-normalised image features against K classes: zero-shot weights, a
/// linear probe, a learned prompt. The evaluator reads it.
public protocol Classifier: AnyObject {
    var classes: Int { get }
    /// Logits `[B, K]` for normalised image features `[B, D]`.
    func logits(images: Tensor) -> Tensor
}

/// Trainable prompt parameters that map a batch of (L2-normalised) image features to class logits:
/// CoOp's context or CoCoOp's context + Meta-Net. The trainer, evaluator and checkpoints use it.
public protocol PromptLearner: Classifier {
    /// Trainable tensors in checkpoint order (names as in the official state dict).
    var parameters: [(name: String, tensor: Tensor)] { get }
    /// Loss and gradients (one per parameter, same order) for a batch `[B, D]` of normalised features.
    func lossAndGradients(images: Tensor, labels: [Int]) -> (result: StepResult, gradients: [Tensor])
    /// The optimiser `Trainer` gives one parameter tensor. Default: Dassl's SGD from the
    /// hyper-parameters (CoOp, CoCoOp, CLIP-Adapter); TaskRes answers Dassl's Adam.
    func makeOptimizer(parameterCount: Int, hyperparameters: Hyperparameters) -> ParameterOptimizer
}

extension PromptLearner {
    public func makeOptimizer(parameterCount: Int, hyperparameters h: Hyperparameters) -> ParameterOptimizer {
        SGD(count: parameterCount, momentum: h.momentum, weightDecay: h.weightDecay)
    }
}

/// CoOp (Zhou et al., IJCV): M learned context vectors shared by all classes or one set per class,
/// the class name at the end, middle or front; logits = scale · cos(image, text(prompt_k)).
/// One text pass per step over all K prompts (docs/DESIGN.md "One text pass per step"), since text
/// features do not depend on the batch.
public final class CoOpLearner: PromptLearner {
    public let promptEncoder: PromptTextEncoder
    /// `[M, W]`, or `[K, M, W]` when class-specific.
    public let context: Tensor
    public let logitScale: Float
    public var classes: Int { promptEncoder.classes }

    /// Random N(0, 0.02) context, or the init phrase's token embeddings (the official code ignores
    /// class-specific context on the phrase path: the context stays shared).
    public init(encoder: TextTransformer, layout: PromptLayout, logitScale: Float, random: inout TrainingRandom,
                chunkSize: Int? = nil, memoryBudget: Int = 3 << 30) {
        promptEncoder = PromptTextEncoder(encoder: encoder, layout: layout, chunkSize: chunkSize, memoryBudget: memoryBudget)
        self.logitScale = logitScale
        let M = layout.contextLength, W = encoder.width
        if let initTokens = layout.initTokens {
            context = Tensor(shape: [M, W])
            encoder.embedTokens(initTokens[...], into: context.data)
        } else {
            context = Tensor(shape: layout.classSpecific ? [layout.suffixes.count, M, W] : [M, W])
            for i in 0..<context.count { context[i] = Float(0.02 * random.normal()) }
        }
    }

    /// Learner around an existing context (checkpoint load, fixtures).
    public init(encoder: TextTransformer, layout: PromptLayout, logitScale: Float, context: Tensor, chunkSize: Int? = nil, memoryBudget: Int = 3 << 30) {
        promptEncoder = PromptTextEncoder(encoder: encoder, layout: layout, chunkSize: chunkSize, memoryBudget: memoryBudget)
        self.logitScale = logitScale
        self.context = context
    }

    public var parameters: [(name: String, tensor: Tensor)] { [("ctx", context)] }

    /// L2-normalised class text features `[K, D]`.
    public func classFeatures() -> Tensor {
        let features = promptEncoder.forward(context: context).features
        Elementwise.normalizeRows(features.data, rows: classes, dim: features.shape[1])
        return features
    }

    public func logits(images: Tensor) -> Tensor {
        let text = classFeatures()
        return CosineLoss.logits(images: images, text: text, scale: logitScale)
    }

    public func lossAndGradients(images: Tensor, labels: [Int]) -> (result: StepResult, gradients: [Tensor]) {
        let K = classes, B = labels.count, D = images.shape[1]
        let step = promptEncoder.forward(context: context)
        let text = step.features            // [K, D], normalised in place: backward does not read it
        let norms = Elementwise.normalizeRows(text.data, rows: K, dim: D)
        let logits = CosineLoss.logits(images: images, text: text, scale: logitScale)  // [B, K]
        let (loss, correct) = CosineLoss.crossEntropy(logits.data, labels: labels, classes: K, gradient: true)
        // dL/d(text normalised)[K, D] = scale · dlogitsᵀ · images
        let dText = Tensor(shape: [K, D])
        GEMM.sgemm(transA: true, m: K, n: D, k: B, alpha: logitScale, a: logits.data, lda: K, b: images.data, ldb: D,
                   c: dText.data, ldc: D)
        CosineLoss.backwardNormalize(dText.data, normalized: text.data, norms: norms, rows: K, dim: D)
        let grads = step.backward(dFeatures: dText)
        return (StepResult(loss: loss, correct: correct, count: B), [grads.context])
    }
}
