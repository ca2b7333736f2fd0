import CLIP
import Kernels

/// CoCoOp (Zhou et al., CVPR): generic context plus a Meta-Net that turns each (normalised) image
/// feature into a shift added to every context token, so each image gets its own K prompts.
/// The B·K prompts of a batch run as B prefix groups sharing weights (docs/DESIGN.md "CoCoOp prefix
/// groups"), each group's SOT + shifted context computed once and its K class suffixes attending
/// to it ("Shared prefix").
public final class CoCoOpLearner: PromptLearner {
    public let promptEncoder: PromptTextEncoder
    public let context: Tensor          // [M, W]
    public let metaNet: MetaNet
    public let logitScale: Float
    /// Images per evaluation forward pass.
    public var evaluationBatch = 32
    public var classes: Int { promptEncoder.classes }

    public init(encoder: TextTransformer, layout: PromptLayout, logitScale: Float, random: inout TrainingRandom,
                chunkSize: Int? = nil, memoryBudget: Int = 3 << 30) throws {
        guard !layout.classSpecific, layout.position == .end else {
            throw PromptError.invalid("CoCoOp uses one generic context with the class token at the end (no --csc, no --position)")
        }
        promptEncoder = PromptTextEncoder(encoder: encoder, layout: layout, chunkSize: chunkSize, memoryBudget: memoryBudget)
        self.logitScale = logitScale
        let M = layout.contextLength, W = encoder.width
        context = Tensor(shape: [M, W])
        if let initTokens = layout.initTokens {
            encoder.embedTokens(initTokens[...], into: context.data + layout.initSlot * W)
        } else {
            for i in 0..<context.count { context[i] = Float(0.02 * random.normal()) }
        }
        metaNet = MetaNet(inputDim: encoder.embedDim, outputDim: W, random: &random)
    }

    public var parameters: [(name: String, tensor: Tensor)] { [("ctx", context)] + metaNet.parameters }

    /// Per-image text features, normalised: `[B·K, D]` (image-major), with the pass kept for backward.
    private func forward(images: Tensor) -> (meta: MetaNet.Activations, step: PromptTextEncoder.Step, text: Tensor, norms: [Float]) {
        let meta = metaNet.forward(images)
        let step = promptEncoder.forward(context: context, shifts: meta.output)
        let text = step.features              // normalised in place: backward does not read it
        let norms = Normalize.forward(text.data, rows: text.shape[0], dim: text.shape[1])
        return (meta, step, text, norms)
    }

    /// logits[b, k] = scale · image_b · text_{b,k}
    private func imageLogits(images: Tensor, text: Tensor) -> Tensor {
        let B = images.shape[0], D = images.shape[1], K = classes
        let out = Tensor(shape: [B, K])
        for b in 0..<B {
            GEMM.sgemm(transB: true, m: 1, n: K, k: D, alpha: logitScale, a: images.data + b * D, lda: D,
                       b: text.data + b * K * D, ldb: D, c: out.data + b * K, ldc: K)
        }
        return out
    }

    public func logits(images: Tensor) -> Tensor {
        let B = images.shape[0], D = images.shape[1], K = classes
        let out = Tensor(shape: [B, K])
        for start in stride(from: 0, to: B, by: evaluationBatch) {
            let n = min(evaluationBatch, B - start)
            let chunk = Tensor(shape: [n, D])
            chunk.data.update(from: images.data + start * D, count: n * D)
            let logits = imageLogits(images: chunk, text: forward(images: chunk).text)
            (out.data + start * K).update(from: logits.data, count: n * K)
        }
        return out
    }

    public func lossAndGradients(images: Tensor, labels: [Int]) -> (result: StepResult, gradients: [Tensor]) {
        let B = labels.count, D = images.shape[1], K = classes
        let f = forward(images: images)
        let logits = imageLogits(images: images, text: f.text)
        let (loss, correct) = CosineLoss.crossEntropy(logits.data, labels: labels, classes: K, gradient: true)
        // dL/d(text_{b,k}) = scale · dlogits[b,k] · image_b
        let dText = Tensor(shape: [B * K, D])
        for b in 0..<B {
            GEMM.sgemm(transA: true, m: K, n: D, k: 1, alpha: logitScale, a: logits.data + b * K, lda: K,
                       b: images.data + b * D, ldb: D, c: dText.data + b * K * D, ldc: D)
        }
        Normalize.backward(dText.data, normalized: f.text.data, norms: f.norms, rows: B * K, dim: D)
        let grads = f.step.backward(dFeatures: dText)
        let metaGrads = metaNet.backward(f.meta, dOutput: grads.shifts!)
        return (StepResult(loss: loss, correct: correct, count: B), [grads.context] + metaGrads)
    }
}

/// CoCoOp as a method (`cocoon tune cocoop`): the CVPR defaults; context and Meta-Net learned,
/// the learner itself classifies (its text depends on each image).
public enum CoCoOpMethod: LearnerMethod {
    public static let displayName = "CoCoOp"
    public static let transfersToOtherClasses = true

    public static func defaults(shots: Int?, dataset: String) -> Hyperparameters { .cocoop() }

    public static func learner(_ context: MethodContext, random: inout TrainingRandom) throws -> PromptLearner {
        try CoCoOpLearner(encoder: context.model.text, layout: try context.promptLayout(), logitScale: context.model.logitScale,
                          random: &random)
    }

    public static func learner(_ checkpoint: PromptCheckpoint, context: MethodContext) throws -> PromptLearner {
        var random = TrainingRandom(seed: 0)            // every parameter is overwritten from the checkpoint
        return try load(checkpoint, into: learner(context, random: &random))
    }
}
