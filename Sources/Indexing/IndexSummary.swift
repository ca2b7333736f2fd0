import DatasetNames
import FeatureCache

/// An item the indexer could not read, as the summary lists it.
public struct IndexFailure: Equatable {
    public var item: UInt32
    public var path: String
    public var error: String
}

/// What one split of an index run did: items of this shard, how many were already committed by an
/// earlier run (resume), how many were encoded now, images encoded, and every failure of the job.
public struct SplitSummary {
    public var split: Split
    public var items: Int
    public var alreadyDone: Int
    public var indexed: Int
    public var images: Int
    public var failures: [IndexFailure]
    public var seconds: Double
    /// The job was already complete; nothing ran.
    public var wasComplete: Bool
}

/// The result of `Indexer.run()`: the extractor and dataset written, subsets recorded, and per split.
public struct IndexSummary {
    public var ext: ExtractorID
    public var extractor: ExtractorRecord
    /// The recipe of the augmented views (nil without `--views`) and K.
    public var recipe: RecipeID?
    public var augmentedViews: Int
    public var ds: DatasetID
    public var dataset: DatasetRecord
    /// Few-shot subset names recorded (`--views-for fewshot:…`).
    public var subsets: [String]
    /// Train items of the held-out selection slice indexed at view 0 besides the draws
    /// (`--train-items fewshot` on a dataset without val; `TrainHoldout`), counted over all shards.
    public var heldOutItems: Int
    public var splits: [SplitSummary]

    /// Human-readable report for the CLI: one line per split, then one per failure.
    public var text: String {
        let views = recipe.map { "\(augmentedViews) augmented views of recipe \($0)" } ?? "eval view only"
        var lines = ["extractor \(ext) (\(extractor.modelName), \(views)); dataset \(ds) (\(dataset.name))"]
        if !subsets.isEmpty { lines.append("subsets: " + subsets.joined(separator: ", ")) }
        if heldOutItems > 0 {
            lines.append("selection slice (no val split): \(heldOutItems) held-out train items outside the draws, view 0 only")
        }
        for s in splits {
            if s.wasComplete {
                lines.append("\(s.split): already complete (\(s.items) items); nothing to do")
                continue
            }
            let rate = s.seconds > 0 ? Double(s.images) / s.seconds : 0
            var line = "\(s.split): \(s.indexed) items indexed now (\(s.images) images, \(String(format: "%.1f", s.seconds)) s, \(String(format: "%.1f", rate)) images/s)"
            if s.alreadyDone > 0 { line += ", \(s.alreadyDone) already stored" }
            line += ", \(s.items) in total, \(s.failures.count) failed"
            lines.append(line)
            for f in s.failures { lines.append("  failed \(s.split) item \(f.item): \(f.error)") }
        }
        return lines.joined(separator: "\n")
    }
}
