import ArgumentParser
import CLIP
import Datasets
import FeatureCache
import Foundation
import Kernels
import PromptLearning

/// The options every store-reading command shares: which store, model and dataset.
struct TaskOptions: ParsableArguments {
    @Option(help: "Feature store directory (written by `cocoon index`).") var store: String
    @Option(help: "CLIP model directory (the one the store was indexed with).") var model: String
    @Option(help: "Dataset name as indexed (e.g. oxford_pets, colored-shapes).") var dataset: String
    @Option(help: "Extractor id (hex) when the store holds several for this model.") var extractor: String?
    @Option(help: "Dataset id (hex) when the store holds several versions of the dataset.") var datasetID: String?
    @Option(help: "Classes: all, base (first half) or new (second half).") var classes: String = "all"
    @Option(help: threadsHelp) var threads: Int?

    var classSubset: ClassSubset {
        get throws {
            guard let subset = ClassSubset(rawValue: classes) else {
                throw ValidationError("--classes must be all, base or new (got \(classes))")
            }
            return subset
        }
    }

    /// Opens the model (text tower only, its linear layers in `textPrecision`) and the cached dataset.
    /// `tuning`: prompt tuning, whose heavy products are cocoon's own (OpenBLAS stays on one thread).
    func open(textPrecision: Precision = .fp32, tuning: Bool = false) throws -> (model: CLIPModel, data: CachedDataset) {
        configureCompute(threads: threads, serialBLAS: tuning)
        let model = try CLIPModelLoader.textOnly(model)
        model.text.use(textPrecision)
        let store = try FeatureStore(path: store)
        let data = try CachedDataset(store: store, model: .fingerprint(model.directory.fingerprint.hex),
                                     datasetName: dataset, extractorID: extractor, datasetID: datasetID)
        return (model, data)
    }
}

/// A result line: accuracy and macro-F1 of one evaluation.
func describe(_ r: EvaluationResult) -> String {
    String(format: "accuracy %.2f%%  macro-F1 %.2f%%  (%d images)", r.accuracy, r.macroF1, r.count)
}

/// Opening a model directory for commands that need only its text tower.
enum CLIPModelLoader {
    static func textOnly(_ path: String) throws -> CLIPModel {
        try CLIPModel(directory: URL(fileURLWithPath: path), loadImageTower: false)
    }
}
