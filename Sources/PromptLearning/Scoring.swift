import CLIP
import DatasetNames
import Datasets
import FeatureCache

/// The one way each method is scored on cached features: a learned prompt or adapter (through its
/// `MethodDefinition`), zero-shot CLIP (hand-crafted template or ensemble) and the linear probe. `cocoon eval`, `zeroshot`, `probe`
/// and `cocoon reproduce` call these, so a table cell and the command a user types agree exactly.
public enum Scoring {
    /// A checkpoint on `split` of `data` after the `classes` half (class tokens rebuilt for the
    /// target's class names where the method transfers: base-to-new, cross-dataset, domain
    /// generalisation).
    public static func prompt(_ checkpoint: PromptCheckpoint, model: CLIPModel, data: CachedDataset, split: Split,
                              classes: ClassSubset) throws -> EvaluationResult {
        let (classnames, features) = try data.evaluation(split, classes: classes)
        let classifier = try checkpoint.classifier(model: model, classnames: classnames, dataset: data.record.name)
        return EvaluationResult(classifier: classifier, data: features)
    }

    /// Zero-shot CLIP with `templates` (one: the hand-crafted prompt; several: prompt ensembling).
    public static func zeroShot(model: CLIPModel, data: CachedDataset, split: Split, classes: ClassSubset,
                                templates: [String]) throws -> EvaluationResult {
        let (classnames, features) = try data.evaluation(split, classes: classes)
        let context = MethodContext(model: model, classnames: classnames, dataset: data.record.name,
                                    hyperparameters: .baseline(templates: templates))
        return EvaluationResult(classifier: try ZeroShotMethod.classifier(for: context), data: features)
    }

    /// The linear probe fitted on view 0 of the few-shot draw (`shots` nil: all training data),
    /// λ chosen on the draw's val, scored on test (the Dassl recipe's views are read and not used).
    public static func linearProbe(model: CLIPModel, data: CachedDataset, shots: Int?, seed: Int, classes: ClassSubset)
        throws -> (result: EvaluationResult, lambda: Double) {
        let task = try data.task(shots: shots, seed: seed, classes: classes, recipe: .cropScale(CoOpMethod.officialCropScale),
                                 allowUnaugmented: true)
        let probe = try linearProbe(model: model, task: task)
        return (EvaluationResult(classifier: probe, data: task.test), probe.lambda)
    }

    /// The linear probe of a task (view 0 of its train draw, λ on its val draw), through its method.
    public static func linearProbe(model: CLIPModel, task: TaskData) throws -> LinearProbe {
        let context = MethodContext(model: model, classnames: task.classnames, dataset: task.datasetName, hyperparameters: .baseline())
        var input = TrainingInput(context: context, train: task.train)
        input.validation = task.val
        var random = TrainingRandom(seed: 1)                   // the probe draws nothing
        return try LinearProbeMethod.start(input, random: &random).classifier as! LinearProbe
    }
}
