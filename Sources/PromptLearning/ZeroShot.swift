import CLIP
import Datasets
import Kernels

/// A classifier by fixed class text features: logits = scale · cos(image, w_k). Zero-shot CLIP
/// with a hand-crafted prompt (`ZeroshotCLIP`) or prompt ensembling (`ZeroshotCLIP2`: the
/// templates' normalised text features averaged and renormalised), and a learned CoOp prompt once
/// its class prompts are encoded, are all this. `zeroshot`, the demo, `predict` and the
/// classifier export use it; logits come from one GEMM over the image features.
public final class TextClassifier: Classifier {
    public let weights: Tensor      // [K, D], unit rows
    public let logitScale: Float
    public var classes: Int { weights.shape[0] }

    public init(weights: Tensor, logitScale: Float) {
        self.weights = weights
        self.logitScale = logitScale
    }

    /// Zero-shot weights: `templates` contain "{}" for the class name ("_" in names becomes " ").
    public static func zeroShot(model: CLIPModel, classnames: [String], templates: [String]) throws -> TextClassifier {
        let K = classnames.count, D = model.text.embedDim
        let weights = Tensor(shape: [K, D])
        for template in templates {
            let features = try model.textFeatures(classnames.map { PromptTemplates.prompt(template, classname: $0) })
            Elementwise.add(weights.data, features.data, count: K * D)
        }
        Elementwise.normalizeRows(weights.data, rows: K, dim: D)
        return TextClassifier(weights: weights, logitScale: model.logitScale)
    }

    /// A CoOp prompt's class features, encoded once.
    public convenience init(_ learner: CoOpLearner) {
        self.init(weights: learner.classFeatures(), logitScale: learner.logitScale)
    }

    public func logits(images: Tensor) -> Tensor {
        CosineLoss.logits(images: images, text: weights, scale: logitScale)
    }
}

/// Zero-shot CLIP as a method: nothing learned; the class matrix of its templates (the dataset's
/// hand-crafted one by default, `zeroShotTemplates` for others or an ensemble). `Scoring.zeroShot`
/// (`cocoon zeroshot`, `reproduce`'s baseline cells, the demo), `classifier` and `cocoon-serve`
/// reach it here.
public enum ZeroShotMethod: MethodDefinition {
    public static let displayName = "zero-shot CLIP"
    public static let officialCropScale = 0.08
    public static let transfersToOtherClasses = true
    public static let trainsOnAugmentedViews = false
    public static func selection(shots: Int?) -> SelectionKind? { nil }

    public static func defaults(shots: Int?, dataset: String) -> Hyperparameters { .baseline() }

    public static func start(_ input: TrainingInput, random: inout TrainingRandom) throws -> MethodRun {
        FinishedRun(hyperparameters: input.context.hyperparameters, classifier: try classifier(for: input.context))
    }

    public static func resume(_ checkpoint: PromptCheckpoint, input: TrainingInput) throws -> MethodRun {
        var random = TrainingRandom(seed: 0)
        return try start(input, random: &random)
    }

    public static func classifier(_ checkpoint: PromptCheckpoint, context: MethodContext) throws -> Classifier {
        try classifier(for: context)
    }

    /// The class matrix of the context's classes under its templates.
    public static func classifier(for context: MethodContext) throws -> TextClassifier {
        let templates = context.hyperparameters.zeroShotTemplates ?? [PromptTemplates.templates(for: context.dataset ?? "").zeroShot]
        return try TextClassifier.zeroShot(model: context.model, classnames: context.classnames, templates: templates)
    }
}
