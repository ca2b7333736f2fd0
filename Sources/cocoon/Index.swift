import ArgumentParser
import FeatureCache
import Foundation
import Indexing
import Kernels

/// `cocoon index`: encode a dataset's images once into a feature store; rerun the same command
/// after a crash or Ctrl-C to continue where it stopped.
struct Index: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encode a dataset's images into a feature store (resumable; rerun to continue).")

    @Option(help: "Model directory (model.safetensors + optional config).") var model: String
    @Option(help: "Dataset name (e.g. OxfordPets, dtd, split-json, image-folder, csv).") var dataset: String
    @Option(help: "Data root: CoOp's $DATA, or the dataset folder for split-json/image-folder/csv.") var root: String
    @Option(help: "Feature store directory (created if missing).") var store: String
    @Option(help: "Splits to index, comma-separated.") var splits: String = "train,val,test"
    @Option(help: "K augmented views per training item (view 0, the eval transform, is always stored).") var views: Int = 0
    @Option(name: .customLong("views-for"), help: "Which train items get the K views: all, or fewshot:N:SEEDS (e.g. fewshot:16:1,2,3).")
    var viewsFor: String = "all"
    @Option(name: .customLong("train-items"), help: "Train items to index: all, or fewshot (only the --views-for draws).")
    var trainItems: String = "all"
    @Option(help: "Images per encoder batch.") var batch: Int = 32
    @Option(help: "Index only shard i of n (by a stable hash of each item's path), e.g. 0/4.") var shard: String?
    @Flag(help: "Stop at the first unreadable image instead of recording it as a failure.") var strict = false
    @Option(help: "Stored element type: f16 or f32.") var dtype: String = "f16"
    @Option(help: "Seed of the augmented views.") var seed: UInt64 = 1
    @Option(name: .customLong("crop-scale"),
            help: "Smallest crop area of the augmented views' random-resized-crop, as a fraction of the image: 0.08 (CoOp, default) or 0.5 (Tip-Adapter, LP++); each scale is its own recipe.")
    var cropScale: Double?
    @Option(help: precisionHelp) var precision: String = "fp32"
    @Option(help: "Model name recorded in the store (default: the model directory's name).") var name: String?
    @Option(help: threadsHelp) var threads: Int?
    @Option(name: .customLong("decode-threads"), help: "Threads decoding images while the encoder runs.") var decodeThreads: Int = 2
    @Option(name: .customLong("commit-every"), help: "Most items per store commit (default 512).") var commitEvery: Int?
    @Option(name: .customLong("commit-seconds"),
            help: "Most seconds of encoding per store commit: what a crash or a full disk can lose (default 30).") var commitSeconds: Double?
    @Option(name: .customLong("progress-every"), help: .hidden) var progressEvery: Double = 5

    func run() throws {
        configureCompute(threads: threads)
        var settings = IndexSettings(modelDirectory: URL(fileURLWithPath: model), datasetName: dataset,
                                     dataRoot: URL(fileURLWithPath: root), storePath: store)
        settings.splits = try splits.split(separator: ",").map { try FeatureStore.split(String($0)) }
        settings.augmentedViews = views
        settings.viewScope = try ViewScope(parsing: viewsFor)
        guard trainItems == "all" || trainItems == "fewshot" else { throw OptionError("--train-items '\(trainItems)': expected all or fewshot") }
        settings.onlyFewShotTrainItems = trainItems == "fewshot"
        settings.batch = batch
        if let shard { settings.shard = try ShardSelector(parsing: shard) }
        settings.strict = strict
        guard let type = FeatureDType(name: dtype) else { throw OptionError("--dtype '\(dtype)': expected f16 or f32") }
        settings.dtype = type
        settings.seed = seed
        if let cropScale { settings.cropScale = cropScale }
        settings.precision = try Precision(option: precision)
        settings.modelName = name
        settings.decodeThreads = decodeThreads
        if let commitEvery { settings.commitEvery = commitEvery }
        if let commitSeconds { settings.commitSeconds = commitSeconds }
        settings.progressInterval = progressEvery
        let summary = try Indexer(settings: settings).run()
        print(summary.text)
    }
}
