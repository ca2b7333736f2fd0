import DatasetNames
import Datasets
import FeatureCache

/// Which data an adapter selects its hyper-parameters on: validation data, never test. Asked for
/// with `CachedDataset.task(…, selection:)`.
public enum SelectionKind: Equatable, Sendable {
    /// Every item of the val split (Tip-Adapter's α/β search, Tip-Adapter-F's best epoch).
    case fullVal
    /// `perClass` items per class of the val split, drawn with the run's seed by CoOp's few-shot
    /// sampler (LP++ draws `shots` per class); a class with fewer items keeps all of them.
    case fewShotVal(perClass: Int)
}

/// Where a run's selection set came from, as its outcome reports it (one line and its JSON).
public struct SelectionSource: Codable, Equatable, Sendable {
    /// "val", or "train-holdout" for a dataset without a val split of its own (`TrainHoldout`), or
    /// "test" only under `--select-on-test`.
    public var split: String
    /// Items in the set, after the class subset.
    public var items: Int
    /// Items per class asked for (`.fewShotVal`); nil for the full set.
    public var perClass: Int?

    public init(split: String, items: Int, perClass: Int?) {
        self.split = split; self.items = items; self.perClass = perClass
    }

    /// The one line the CLI prints.
    public var summary: String {
        let kind = perClass.map { "\($0) per class drawn with the run's seed" } ?? "all of them"
        let origin = split == "val" ? "the val split"
            : split == "test" ? "the test split (--select-on-test: the official code's choice, not an honest estimate)"
            : "held-out train items outside the few-shot draw (no val split)"
        return "selection: \(split), \(items) items (\(kind)) of \(origin)"
    }
}

/// A selection set: view-0 features (L2-normalised, labels after the class subset) and where they
/// came from. Read by the adapters' searches (`LabeledFeatures(set.features)`).
public struct SelectionSet {
    public let features: FeatureSet
    public let source: SelectionSource

    public init(features: FeatureSet, source: SelectionSource) { self.features = features; self.source = source }
}

extension CachedDataset {
    /// The selection set of a run whose few-shot draw is `draw` (the dataset restricted to it,
    /// before the class subset): `kind` of the val split, or, for a dataset without one (val
    /// empty, or val = test as ImageNet in CoOp's layout), of `TrainHoldout`'s slice of train
    /// outside the draw; then the `classes` half. Every item's view 0 must be stored: a missing one
    /// is a one-line error naming the indexing command that adds it.
    public func selection(_ kind: SelectionKind, draw: Dataset, seed: Int, classes: ClassSubset) throws -> SelectionSet {
        let heldOut = TrainHoldout.isNeeded(dataset)
        let split: Split = heldOut ? .train : .val
        var items = heldOut ? TrainHoldout.items(dataset.train, excluding: draw.train) : dataset.val
        guard !items.isEmpty else {
            throw PromptError.invalid("\(store.path): \(record.name) has no val split and every train item is in the training draw, so none is left to select hyper-parameters on; train with --shots N")
        }
        var perClass: Int?
        if case .fewShotVal(let n) = kind {
            guard n >= 1 else { throw PromptError.invalid("few-shot selection set: \(n) items per class; ask for at least 1") }
            var random = CPythonRandom(seed: seed)
            items = FewShotSampler.sample(items, shots: n, random: &random)
            perClass = n
        }
        items = draw.keepingClasses(classes, of: items)
        let stored = try store.storedViews(ext: ext, ds: ds, split: split)
        let ids = itemIDs[split]!
        let missing = items.filter { item in ids[item.path].map { stored[$0]?.contains(.eval) != true } ?? true }.count
        guard missing == 0 else {
            let fix = heldOut
                ? "`cocoon index --dataset \(record.name) --views-for fewshot:N:SEEDS --train-items fewshot --store \(store.path)` (it indexes the held-out slice's view 0), or index every train item"
                : "`cocoon index --dataset \(record.name) --splits val --store \(store.path)`"
            let what = heldOut ? "held-out train items (the selection slice of a dataset without val)" : "val items"
            throw PromptError.invalid("\(store.path): \(missing) of \(items.count) \(what) of \(record.name) have no features; index them with \(fix)")
        }
        let features = try self.features(split, items)
        return SelectionSet(features: features,
                            source: SelectionSource(split: heldOut ? "train-holdout" : "val", items: features.count, perClass: perClass))
    }
}
