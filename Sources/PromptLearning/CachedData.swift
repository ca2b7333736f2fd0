import Datasets
import FeatureCache
import Foundation
import Kernels

/// L2-normalised cached features of one split, grouped by item: row `offsets[i] + v` is view v of
/// item i (view 0 = eval transform, 1… = augmented views). What the trainer and evaluator read.
public struct FeatureSet {
    public let dim: Int
    /// Label of each item (after class subsampling).
    public let labels: [Int]
    /// Row range of each item: `offsets[i] ..< offsets[i+1]`.
    public let offsets: [Int]
    /// `[rows, dim]`, every row of unit length.
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
}

/// A dataset as one model's features in a feature store: resolves the extractor (by model
/// fingerprint) and the dataset (by name), rebuilds the item lists for few-shot sampling and
/// base/new splits (the `Datasets` rules), and reads the matching rows.
public final class CachedDataset {
    public let store: FeatureStore
    public let ext: ExtractorID
    public let ds: DatasetID
    public let record: DatasetRecord
    /// The dataset rebuilt from the store's item records (paths relative to the image root).
    public let dataset: Dataset
    private let itemIDs: [Split: [String: UInt32]]

    /// - Parameter extractor: an explicit extractor id (hex) when several match the model.
    public init(store: FeatureStore, modelFingerprint: String, datasetName: String, extractor wanted: String? = nil) throws {
        self.store = store
        let candidates = try store.extractors().filter { $0.record.modelFingerprint == modelFingerprint }
            .filter { wanted == nil || $0.id.description == wanted }
        guard let chosen = candidates.max(by: { $0.record.augmentedViews < $1.record.augmentedViews }) else {
            throw PromptError.invalid("\(store.path): no features of this model (fingerprint \(modelFingerprint.prefix(16))); run `cocoon index --model … --store \(store.path)` first")
        }
        ext = chosen.id
        let known = try store.datasets()
        guard let found = known.first(where: { DatasetCatalog.storedName($0.record.name, matches: datasetName) }) else {
            let names = known.map(\.record.name).sorted().joined(separator: ", ")
            throw PromptError.invalid("\(store.path): no dataset \"\(datasetName)\" (indexed: \(names.isEmpty ? "none" : names)); run `cocoon index --dataset \(datasetName) …`")
        }
        let record = found.record
        ds = found.id
        self.record = record
        var splits: [Split: [DatasetItem]] = [:]
        var itemIDs: [Split: [String: UInt32]] = [:]
        for split in Split.allCases {
            let items = try store.items(ds: found.id, split: split)
            splits[split] = items.map { DatasetItem(path: $0.relativePath, label: Int($0.label), classname: record.classnames[Int($0.label)]) }
            var ids: [String: UInt32] = [:]
            for (i, item) in items.enumerated() { ids[item.relativePath] = UInt32(i) }
            itemIDs[split] = ids
        }
        self.itemIDs = itemIDs
        let testOnly = splits[.train]!.isEmpty
        dataset = try Dataset(name: record.name, imageRoot: URL(fileURLWithPath: store.path),
                              train: testOnly ? splits[.test]! : splits[.train]!, val: splits[.val]!, test: splits[.test]!,
                              templates: PromptTemplates.templates(for: record.name),
                              fewShotSamplesVal: record.name.lowercased() != "imagenet")
    }

    /// The task: `shots` per class drawn with CoOp's sampler and `seed` (nil: all training data),
    /// then the `classes` half (base-to-new), then the features of train, val and test.
    public func task(shots: Int?, seed: Int, classes: ClassSubset) throws -> TaskData {
        var data = dataset
        if let shots { data = try data.subset(FewShotSampler.sample(data, shots: shots, seed: seed)) }
        data = try data.subsampleClasses(classes)
        let testOnly = dataset.train.map(\.path) == dataset.test.map(\.path)
        return TaskData(datasetName: record.name, classnames: data.classnames,
                        train: try features(testOnly ? .test : .train, data.train),
                        val: data.val.isEmpty ? nil : try features(.val, data.val),
                        test: try features(.test, data.test))
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

    /// Normalised rows of `items` (labels as given) from `split`; items without features are skipped.
    public func features(_ split: Split, _ items: [DatasetItem]) throws -> FeatureSet {
        let ids = itemIDs[split]!
        var labelOf: [UInt32: Int] = [:]
        for item in items {
            guard let id = ids[item.path] else {
                throw PromptError.invalid("\(store.path): item \(item.path) is not in the \(split) split of \(record.name); the store and the subset disagree")
            }
            labelOf[id] = item.label
        }
        let scan = try store.scan(ext: ext, ds: ds, split: split, items: labelOf.keys.sorted(), normalized: true)
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
            throw PromptError.invalid("\(store.path): no \(split) features for \(record.name) with this model; index the \(split) split first")
        }
        return FeatureSet(dim: scan.dim, labels: labels, offsets: offsets, values: scan.values)
    }
}
