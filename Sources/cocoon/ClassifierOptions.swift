import ArgumentParser
import CLIP
import Datasets
import FeatureCache
import Foundation
import PromptLearning

/// What classifies images for `predict` and `classifier`: a `cocoon tune` checkpoint (any prompt method or adapter) or
/// zero-shot CLIP (the dataset's hand-crafted template, `--template`, or `--ensemble`), and the
/// class names: the prompt's own, a file, or a dataset of a store (transfer: the class tokens are
/// rebuilt for them, as `eval` does).
struct ClassifierOptions: ParsableArguments {
    @Option(help: "CLIP model directory (the one the prompt was learned with).") var model: String
    @Option(help: "Prompt checkpoint written by `cocoon tune`; omit for zero-shot.") var prompt: String?
    @Flag(help: "Zero-shot with prompt ensembling (the papers' template set).") var ensemble = false
    @Option(help: "Zero-shot template of your own, with {} for the class name.") var template: String?
    @Option(help: "Class names, one per line (default: the prompt's own classes).") var classnames: String?
    @Option(help: "Take the class names of this dataset (with --store).") var dataset: String?
    @Option(help: "Feature store holding --dataset.") var store: String?

    /// The classifier, its class names, and a one-line description ("coop prompt … / zero-shot …").
    func load(_ model: CLIPModel) throws -> (classifier: Classifier, classnames: [String], description: String) {
        let checkpoint = try prompt.map { try PromptCheckpoint.read(from: URL(fileURLWithPath: $0)) }
        let (names, datasetName) = try classNames(checkpoint: checkpoint)
        if let checkpoint {
            guard template == nil, !ensemble else { throw OptionError("--template and --ensemble are for zero-shot; drop --prompt or them") }
            let classifier = try checkpoint.classifier(model: model, classnames: names, dataset: datasetName)
            return (classifier, names, "\(checkpoint.recipe.method) prompt from \(checkpoint.recipe.dataset) (\(names.count) classes)")
        }
        let chosen = PromptTemplates.templates(for: datasetName ?? "").selected(template: template, ensemble: ensemble)
        let description = ensemble ? "zero-shot ensemble of \(chosen.count) templates" : "zero-shot \"\(chosen[0])\""
        let context = MethodContext(model: model, classnames: names, dataset: datasetName, hyperparameters: .baseline(templates: chosen))
        return (try ZeroShotMethod.classifier(for: context), names, description + " (\(names.count) classes)")
    }

    /// Class names by precedence --classnames, --dataset, the prompt's; and the dataset's name
    /// when known (its templates).
    private func classNames(checkpoint: PromptCheckpoint?) throws -> ([String], String?) {
        if let classnames {
            let names = try String(contentsOfFile: classnames, encoding: .utf8).split(whereSeparator: \.isNewline)
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !names.isEmpty else { throw OptionError("\(classnames): no class names (one per line)") }
            return (names, nil)
        }
        if let dataset {
            guard let store else { throw OptionError("--dataset \(dataset): give the --store that holds it") }
            let record = try FeatureStore.openExisting(path: store).dataset(named: dataset).record
            return (record.classnames, record.name)
        }
        guard let checkpoint else {
            throw OptionError("zero-shot needs class names: --classnames FILE, or --dataset NAME --store STORE")
        }
        return (checkpoint.recipe.classnames, checkpoint.recipe.dataset)
    }
}
