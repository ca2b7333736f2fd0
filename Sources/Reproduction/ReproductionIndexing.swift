import FeatureCache
import Foundation
import Indexing
import PromptLearning

/// What the store must hold for a plan, as index runs: per trainable dataset one run per shot
/// count of its few-shot draws (train items of the draws only, with the plan's augmented views;
/// val and test at view 0), one more per shot count for the few-shot adapters' own recipe (crop
/// scale 0.5, Tip-Adapter's 10 views, train only) when the plan has such cells, and the test split
/// of every evaluation-only dataset. Each run
/// encodes only the (item, view) pairs the store lacks, so a rerun or a second shot count costs
/// only what is new. Used by the local run and by the Slurm index tasks (one shard each).
public struct IndexRun: Codable, Equatable, Sendable {
    public var dataset: String
    public var splits: [String]
    /// The draw whose train items (and augmented views) this run indexes; nil: test only.
    public var shots: Int?
    /// The crop scale of the augmented views when it is not Dassl's (the adapters' recipe); nil: 0.08.
    public var cropScale: Double? = nil

    /// The plan's runs, dataset by dataset in plan order.
    public static func runs(for plan: ReproductionPlan) -> [IndexRun] {
        plan.datasets.flatMap { dataset -> [IndexRun] in
            guard let shots = plan.draws[dataset], !shots.isEmpty else { return [IndexRun(dataset: dataset, splits: ["test"], shots: nil)] }
            let scales = Set(plan.cells.filter { $0.source == dataset }.compactMap { $0.method.promptMethod?.definition.officialCropScale })
                .subtracting([CoOpMethod.officialCropScale]).sorted()
            return shots.map { IndexRun(dataset: dataset, splits: ["train", "val", "test"], shots: $0) }
                + scales.flatMap { scale in shots.map { IndexRun(dataset: dataset, splits: ["train"], shots: $0, cropScale: scale) } }
        }
    }

    /// Augmented views per item of the adapters' recipe: the views Tip-Adapter averages into a key.
    static let adapterViews = Hyperparameters.tipAdapter(dataset: "").tipAdapter!.augmentViews

    /// The indexer settings of this run (`shard` for Slurm's index array).
    public func settings(plan: ReproductionPlan, model: URL, root: URL, store: String, shard: ShardSelector = .all) throws -> IndexSettings {
        var s = IndexSettings(modelDirectory: model, datasetName: dataset, dataRoot: root, storePath: store)
        s.splits = try splits.map(FeatureStore.split)
        if let shots {
            s.augmentedViews = cropScale == nil ? plan.settings.views : IndexRun.adapterViews
            s.viewScope = .fewShot(shots: shots, seeds: plan.settings.seeds)
            s.onlyFewShotTrainItems = true
        }
        if let cropScale { s.cropScale = cropScale }
        s.shard = shard
        return s
    }
}
