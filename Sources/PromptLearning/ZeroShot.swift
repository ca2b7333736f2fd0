import CLIP
import Datasets
import Kernels

/// Zero-shot CLIP with hand-crafted prompts (`ZeroshotCLIP`) and prompt ensembling
/// (`ZeroshotCLIP2`): class weights are the normalised text features of the templates, averaged
/// over templates and renormalised. Logits come from one GEMM over the cached features.
public final class ZeroShotClassifier: Classifier {
    public let weights: Tensor      // [K, D], unit rows
    public let logitScale: Float
    public var classes: Int { weights.shape[0] }

    /// `templates` contain "{}" for the class name ("_" in names becomes " ").
    public init(model: CLIPModel, classnames: [String], templates: [String]) throws {
        let K = classnames.count, D = model.text.embedDim
        weights = Tensor(shape: [K, D])
        logitScale = model.logitScale
        for template in templates {
            let features = try model.textFeatures(classnames.map { PromptTemplates.prompt(template, classname: $0) })
            Elementwise.add(weights.data, features.data, count: K * D)
        }
        Elementwise.normalizeRows(weights.data, rows: K, dim: D)
    }

    public func logits(images: Tensor) -> Tensor {
        CosineLoss.logits(images: images, text: weights, scale: logitScale)
    }

}
