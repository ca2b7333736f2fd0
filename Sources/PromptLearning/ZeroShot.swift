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
