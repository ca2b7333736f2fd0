import DatasetNames
import Datasets
import FeatureCache
import Foundation
import Kernels

/// Cached features of one split (L2-normalised unless read raw), grouped by item: row `offsets[i] + v` is view v of
/// item i (view 0 = eval transform, 1… = augmented views). What the trainer and evaluator read.
public struct FeatureSet {
    public let dim: Int
    /// Label of each item (after class subsampling).
    public let labels: [Int]
    /// Row range of each item: `offsets[i] ..< offsets[i+1]`.
    public let offsets: [Int]
    /// `[rows, dim]`, every row of unit length (raw, as stored, from `CachedDataset.rawTrain`).
    public let values: [Float]

    public init(dim: Int, labels: [Int], offsets: [Int], values: [Float]) {
        self.dim = dim; self.labels = labels; self.offsets = offsets; self.values = values
    }

    public var count: Int { labels.count }

    /// View-0 features `[N, D]`.
    public func evaluationFeatures() -> Tensor {
        let t = Tensor(shape: [count, dim])
        values.withUnsafeBufferPointer { v in
            for i in 0..<count { (t.data + i * dim).update(from: v.baseAddress! + offsets[i] * dim, count: dim) }
        }
        return t
    }
}

/// One task's features: class names and the splits, after few-shot sampling and class subsampling.
public struct TaskData {
    public let datasetName: String
    public let classnames: [String]
    public let train: FeatureSet
    public let val: FeatureSet?
    public let test: FeatureSet
    /// Which training views the task reads.
    public let views: TrainingViews
    /// The hyper-parameter selection set asked for with `task(…, selection:)`; nil when none was.
    public let selection: SelectionSet?
    /// The training items and the recipe `train` was read with (`CachedDataset.rawTrain`).
    let trainItems: [DatasetItem]
    let trainRecipe: RecipeID?
}

/// The training views of a task, as the tuner reports them (one line and its JSON): the recipe
/// of the augmented views and its policy, how many training items have them and how many only
/// view 0, and whether the few-shot draw is the one the indexer recorded.
public struct TrainingViews: Codable, Equatable {
    public var recipe: String?
    /// The recipe's policy string (e.g. "rrc(0.5-1,3/4-4/3)+hflip"; `RecipePolicy`).
    public var policy: String?
    public var augmentedItems: Int
    public var unaugmentedItems: Int
    /// The store's subset name of the draw (e.g. "16shot-s1"), nil when drawn here.
    public var storedDraw: String?

    /// The one line the CLI prints.
    public var summary: String {
        let draw = storedDraw.map { "the indexed draw \($0)" } ?? "a draw made here"
        guard let recipe else { return "training views: view 0 only (no augmented views stored); \(draw)" }
        return "training views: recipe \(recipe) (\(policy ?? "?")), \(augmentedItems) items with augmented views, \(unaugmentedItems) with view 0 only; \(draw)"
    }
}

/// A dataset as one model's features in a feature store: finds them through the store's one
/// lookup (`FeatureStore.lookup`), rebuilds the item lists for few-shot sampling and base/new
/// splits (the `Datasets` rules), takes the few-shot draws and test-only-ness the indexer
/// recorded, and reads the matching rows.
public final class CachedDataset {
    public let store: FeatureStore
    public let ext: ExtractorID
    public let ds: DatasetID
    public let record: DatasetRecord
    /// The dataset rebuilt from the store's item records (paths relative to the image root).
    public let dataset: Dataset
    /// The dataset has no train split in the store (ImageNet-A/R/Sketch/V2 and other test-only sets).
    public let isTestOnly: Bool
    private let source: FeatureSource
    /// Item id of each relative path, per split.
    let itemIDs: [Split: [String: UInt32]]

    /// - Parameters: `extractorID`/`datasetID` narrow the lookup when the store holds several.
    public init(store: FeatureStore, model: ModelReference, datasetName: String, extractorID: String? = nil,
                datasetID: String? = nil) throws {
        self.store = store
        source = try store.lookup(model: model, dataset: datasetName, extractorID: extractorID, datasetID: datasetID)
        ext = source.ext
        ds = source.ds
        let record = source.dataset
        self.record = record
        var splits: [Split: [DatasetItem]] = [:]
        var itemIDs: [Split: [String: UInt32]] = [:]
        for split in Split.allCases {
            let items = try store.items(ds: ds, split: split)
            splits[split] = items.map { DatasetItem(path: $0.relativePath, label: Int($0.label), classname: record.classnames[Int($0.label)]) }
            var ids: [String: UInt32] = [:]
            for (i, item) in items.enumerated() { ids[item.relativePath] = UInt32(i) }
            itemIDs[split] = ids
        }
        self.itemIDs = itemIDs
        isTestOnly = splits[.train]!.isEmpty
        dataset = try Dataset(name: record.name, imageRoot: URL(fileURLWithPath: store.path),
                              train: isTestOnly ? splits[.test]! : splits[.train]!, val: splits[.val]!, test: splits[.test]!,
                              templates: PromptTemplates.templates(for: record.name),
                              fewShotSamplesVal: record.name.lowercased() != "imagenet")
    }

    /// The task: `shots` per class (the draw the indexer recorded for `seed`, else CoOp's sampler
    /// with `seed`; nil: all training data), then the `classes` half (base-to-new), then the
    /// features of train (view 0 and the views of the training recipe `recipe` chooses, or of the
    /// only one stored when nil), val and test, and the `selection` set when asked for (see
    /// `selection(_:draw:seed:classes:)`). Refuses a test-only dataset, and training items without
    /// augmented views unless `allowUnaugmented`.
    public func task(shots: Int?, seed: Int, classes: ClassSubset, recipe choice: RecipeChoice? = nil,
                     selection kind: SelectionKind? = nil, allowUnaugmented: Bool = false) throws -> TaskData {
        guard !isTestOnly else {
            throw PromptError.invalid("\(store.path): \(record.name) has no train split (a test-only dataset); tune on its source dataset (e.g. ImageNet) and evaluate here with `cocoon eval`")
        }
        var data = dataset
        var storedDraw: String?
        if let shots {
            let name = FewShotSubsetName.make(shots: shots, seed: seed)
            if let train = try store.subset(ds: ds, split: .train, name: name) {
                let val = try store.subset(ds: ds, split: .val, name: name)
                data = try data.subset(FewShotSubset(train: train.map { dataset.train[Int($0)] },
                                                     val: val.map { $0.map { dataset.val[Int($0)] } }))
                storedDraw = name
            } else {
                data = try data.subset(FewShotSampler.sample(data, shots: shots, seed: seed))
            }
        }
        let selection = try kind.map { try self.selection($0, draw: data, seed: seed, classes: classes) }
        data = try data.subsampleClasses(classes)
        let recipe = try store.trainingRecipe(source, split: .train, choice: choice)
        let train = try features(.train, data.train, recipe: recipe)
        let augmented = (0..<train.count).filter { train.offsets[$0 + 1] - train.offsets[$0] > 1 }.count
        let views = TrainingViews(recipe: recipe?.description, policy: try recipe.flatMap { try store.recipe($0)?.policy },
                                  augmentedItems: augmented, unaugmentedItems: train.count - augmented, storedDraw: storedDraw)
        if views.unaugmentedItems > 0 && !allowUnaugmented {
            var scale = ""
            if case .cropScale(let s)? = choice { scale = " --crop-scale \(RecipePolicy.number(s))" }
            let fix = shots.map { "`cocoon index … --views K\(scale) --views-for fewshot:\($0):\(seed)`" } ?? "`cocoon index … --views K\(scale)`"
            throw PromptError.invalid("\(store.path): \(views.unaugmentedItems) of \(train.count) training items of \(record.name) have no augmented views\(recipe.map { " of recipe \($0)" } ?? ""); index them with \(fix), or pass --allow-unaugmented to train on their view 0")
        }
        return TaskData(datasetName: record.name, classnames: data.classnames, train: train,
                        val: data.val.isEmpty ? nil : try features(.val, data.val),
                        test: try features(.test, data.test), views: views, selection: selection,
                        trainItems: data.train, trainRecipe: recipe)
    }

    /// The task's training rows as stored (unnormalised): what Tip-Adapter averages into its keys.
    public func rawTrain(_ task: TaskData) throws -> FeatureSet {
        try features(.train, task.trainItems, recipe: task.trainRecipe, normalized: false)
    }

    /// Class names and the features of one evaluation split (`.val` or `.test`) after the
    /// `classes` half. Reads only that split, where `task` reads all three (augmented training
    /// views included).
    public func evaluation(_ split: Split, classes: ClassSubset) throws -> (classnames: [String], features: FeatureSet) {
        precondition(split != .train, "evaluation reads val or test")
        let data = try dataset.subsampleClasses(classes)
        let items = split == .val ? data.val : data.test
        if items.isEmpty && split == .val {
            throw PromptError.invalid("\(store.path): \(record.name) has no val split; evaluate on test")
        }
        return (data.classnames, try features(split, items))
    }

    /// Rows of `items` (labels as given) from `split`, L2-normalised unless `normalized` is false:
    /// view 0, and the views of `recipe` when given; items without features are skipped.
    public func features(_ split: Split, _ items: [DatasetItem], recipe: RecipeID? = nil, normalized: Bool = true) throws -> FeatureSet {
        let ids = itemIDs[split]!
        var labelOf: [UInt32: Int] = [:]
        for item in items {
            guard let id = ids[item.path] else {
                throw PromptError.invalid("\(store.path): item \(item.path) is not in the \(split) split of \(record.name); the store and the subset disagree")
            }
            labelOf[id] = item.label
        }
        let scan = try store.scan(ext: ext, ds: ds, split: split, items: labelOf.keys.sorted(), recipe: recipe, normalized: normalized)
        var labels: [Int] = [], offsets: [Int] = [0]
        var previous: UInt32?
        for r in 0..<scan.rows {
            if scan.items[r] != previous {
                if previous != nil { offsets.append(r) }
                labels.append(labelOf[scan.items[r]]!)
                previous = scan.items[r]
            }
        }
        if scan.rows > 0 { offsets.append(scan.rows) }
        guard !labels.isEmpty else {
            throw PromptError.invalid("\(store.path): no \(split) features of \(record.name) for \(source.extractor.modelName) (extractor \(ext)); index them with `cocoon index --dataset \(record.name) --splits \(split) --store \(store.path)`")
        }
        return FeatureSet(dim: scan.dim, labels: labels, offsets: offsets, values: scan.values)
    }
}
