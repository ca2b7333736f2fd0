import DatasetNames
import FeatureCache
import Foundation
import Imaging
import Kernels

/// Everything `cocoon index` was asked to do: which model, dataset and store, which splits and
/// views, and how to run (batch, threads, shard, commit interval). Built by the CLI (or a test)
/// and handed to `Indexer`.
public struct IndexSettings {
    public var modelDirectory: URL
    /// Dataset name or alias for `DatasetCatalog.load(name:root:)`.
    public var datasetName: String
    public var dataRoot: URL
    public var storePath: String
    /// Splits to index, in order (splits without items are skipped).
    public var splits: [Split] = [.train, .val, .test]
    /// K, augmented views per training item (view 0, the eval transform, is always written).
    public var augmentedViews: Int = 0
    public var viewScope: ViewScope = .all
    /// Index only the train items of the `viewScope` few-shot draws (the papers' protocols read
    /// nothing else of train: ImageNet's 1.28 M train images become 16 per class and seed).
    public var onlyFewShotTrainItems = false
    /// Run seed of the augmented views (`ViewSeed.make(seed:itemKey:view:)`).
    public var seed: UInt64 = 1
    /// Lower bound s of the augmented views' RandomResizedCrop area scale (s, 1): CoOp's 0.08, or
    /// 0.5 for the Tip-Adapter / LP++ recipe. Part of the recipe's policy, so each scale is its
    /// own recipe under the same extractor.
    public var cropScale: Double = RandomResizedCrop.defaultScale.lowerBound
    /// Images per encoder call.
    public var batch: Int = 32
    public var shard: ShardSelector = .all
    /// Stop at the first unreadable image instead of recording it as a failure.
    public var strict: Bool = false
    public var dtype: FeatureDType = .f16
    /// Arithmetic of the image tower's weight products (part of the extractor's identity).
    public var precision: Precision = .fp32
    /// Model name recorded in the store (default: the model directory's name).
    public var modelName: String?
    /// Threads decoding and preparing views while the encoder runs.
    public var decodeThreads: Int = 2
    /// Most items per store commit.
    public var commitEvery: Int = 512
    /// Most seconds of encoding per store commit: with many views per item (or a slow encoder),
    /// a crash or a full disk loses at most this much work.
    public var commitSeconds: Double = 30
    /// Seconds between progress lines when stderr is not a terminal (0: one line per item).
    public var progressInterval: Double = 5

    public init(modelDirectory: URL, datasetName: String, dataRoot: URL, storePath: String) {
        self.modelDirectory = modelDirectory
        self.datasetName = datasetName
        self.dataRoot = dataRoot
        self.storePath = storePath
    }

    /// The model name the store records.
    public var resolvedModelName: String { modelName ?? modelDirectory.standardizedFileURL.lastPathComponent }

    /// Rejects settings no run could use, naming the option.
    public func validate() throws {
        guard seed <= 1 << 53 else {
            throw IndexingError("--seed \(seed): must be at most 2^53 (it is stored as a JSON integer); pick a smaller seed")
        }
        guard augmentedViews >= 0, augmentedViews < Int(UInt16.max) else {
            throw IndexingError("--views \(augmentedViews): must be 0 or more (K augmented views per training item)")
        }
        guard cropScale > 0, cropScale <= 1 else {
            throw IndexingError("--crop-scale \(RecipePolicy.number(cropScale)): must be in (0, 1], the smallest crop area as a fraction of the image; pass e.g. --crop-scale 0.08 (CoOp) or 0.5 (Tip-Adapter, LP++)")
        }
        guard batch >= 1 else { throw IndexingError("--batch \(batch): must be at least 1") }
        guard decodeThreads >= 1 else { throw IndexingError("decode threads \(decodeThreads): must be at least 1") }
        guard commitEvery >= 1 else { throw IndexingError("--commit-every \(commitEvery): must be at least 1") }
        guard commitSeconds > 0 else { throw IndexingError("--commit-seconds \(commitSeconds): must be more than 0") }
        guard !splits.isEmpty else { throw IndexingError("--splits: name at least one of train, val, test") }
        if onlyFewShotTrainItems, case .all = viewScope {
            throw IndexingError("--train-items fewshot needs --views-for fewshot:N:SEEDS (it keeps only those draws' train items)")
        }
        if augmentedViews == 0 && cropScale != RandomResizedCrop.defaultScale.lowerBound {
            throw IndexingError("--crop-scale \(RecipePolicy.number(cropScale)) needs --views K > 0 (it shapes the augmented views; view 0 has no crop)")
        }
        if case .fewShot = viewScope, augmentedViews == 0 {
            throw IndexingError("--views-for \(viewScope) needs --views K > 0 (it restricts augmented views to few-shot items)")
        }
    }
}
