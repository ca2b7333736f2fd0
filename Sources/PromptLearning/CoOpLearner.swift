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
            context = Tensor(shape: [M, W])        // slots before `initSlot` stay zero (ProGrad)
            encoder.embedTokens(initTokens[...], into: context.data + layout.initSlot * W)
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

    /// One step, top to bottom: the class prompts forward (`textPass`), the cosine head and
    /// cross-entropy forward and backward (`CosineLoss`), then the text pass backward to the context.
    public func lossAndGradients(images: Tensor, labels: [Int]) -> (result: StepResult, gradients: [Tensor]) {
        let pass = textPass()
        let logits = CosineLoss.logits(images: images, text: pass.text, scale: logitScale)   // [B, K]
        let (loss, correct) = CosineLoss.crossEntropy(logits.data, labels: labels, classes: classes, gradient: true)
        let dText = CosineLoss.textGradient(dLogits: logits, images: images, scale: logitScale)  // [K, D]
        return (StepResult(loss: loss, correct: correct, count: labels.count), pass.backward(dText: [dText]))
    }

    /// Forward of every class prompt (valid until the next pass: the encoder reuses its buffers).
    public func textPass() -> TextPass {
        let step = promptEncoder.forward(context: context)
        let text = step.features                                   // [K, D]
        let norms = Normalize.forward(text.data, rows: classes, dim: text.shape[1])
        return TextPass(text: text, norms: norms, step: step)
    }

    /// One text pass over every class prompt, kept for backward: the class features L2-normalised
    /// and what their backward needs. CoOp's step and the KgCoOp / ProGrad steps build their losses
    /// on it, so the prompt forward, the normalisation and their backward live here only.
    public struct TextPass {
        /// `[K, D]` unit rows ŵ_k = w_k/‖w_k‖ (normalised in place: the encoder's backward does not read them).
        public let text: Tensor
        let norms: [Float]                       // [K] ‖w_k‖
        let step: PromptTextEncoder.Step

        /// dL/d(context) for each seed dL/dŵ `[K, D]` (overwritten by the normalisation's backward):
        /// one text-tower backward per seed on this one forward (a pass recomputed under the memory
        /// budget is recomputed once for all seeds).
        public func backward(dText seeds: [Tensor]) -> [Tensor] {
            let K = text.shape[0], D = text.shape[1]
            for seed in seeds {     // ŵ = w/‖w‖ backward: dw = (dŵ − ŵ(ŵ·dŵ)) / ‖w‖
                Normalize.backward(seed.data, normalized: text.data, norms: norms, rows: K, dim: D)
            }
            return step.backward(dFeatures: seeds).map(\.context)
        }
    }

    /// L2-normalised class text features `[K, D]`.
    public func classFeatures() -> Tensor { textPass().text }

    public func logits(images: Tensor) -> Tensor {
        CosineLoss.logits(images: images, text: classFeatures(), scale: logitScale)
    }
}

extension CoOpLearner {
    /// A fresh learner for the context's classes and hyper-parameters.
    public convenience init(_ context: MethodContext, alignPhraseRight: Bool = false, random: inout TrainingRandom) throws {
        self.init(encoder: context.model.text, layout: try context.promptLayout(alignPhraseRight: alignPhraseRight),
                  logitScale: context.model.logitScale, random: &random)
    }

    /// The checkpoint's context in prompts for the context's classes (class tokens rebuilt:
    /// base-to-new, cross-dataset); a class-specific context only for as many classes.
    public convenience init(_ checkpoint: PromptCheckpoint, context: MethodContext, alignPhraseRight: Bool = false) throws {
        let learned = try checkpoint.required("ctx")
        if learned.shape.count == 3 && learned.shape[0] != context.classnames.count {
            throw PromptError.invalid("class-specific context was learned for \(learned.shape[0]) classes, the target has \(context.classnames.count); class-specific prompts do not transfer")
        }
        self.init(encoder: context.model.text, layout: try context.promptLayout(alignPhraseRight: alignPhraseRight),
                  logitScale: context.model.logitScale, context: learned.copy())
    }
}

/// CoOp as a method (`cocoon tune coop`): the IJCV defaults; only the context is learned, so once
/// trained its class text features are encoded once (`TextClassifier`).
public enum CoOpMethod: LearnerMethod {
    public static let displayName = "CoOp"
    public static let transfersToOtherClasses = true

    public static func defaults(shots: Int?, dataset: String) -> Hyperparameters { .coop(shots: shots, dataset: dataset) }

    public static func learner(_ context: MethodContext, random: inout TrainingRandom) throws -> PromptLearner {
        try CoOpLearner(context, random: &random)
    }

    public static func learner(_ checkpoint: PromptCheckpoint, context: MethodContext) throws -> PromptLearner {
        try CoOpLearner(checkpoint, context: context)
    }

    public static func classifier(_ checkpoint: PromptCheckpoint, context: MethodContext) throws -> Classifier {
        TextClassifier(try CoOpLearner(checkpoint, context: context))
    }
}
