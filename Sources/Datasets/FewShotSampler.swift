import DatasetNames
import Foundation

/// A few-shot draw: the train (and, except for ImageNet, val) items CoOp keeps, in draw order, with
/// labels from before class subsampling. Produced by `FewShotSampler`; applied with `Dataset.subset(_:)`.
public struct FewShotSubset: Equatable, Sendable {
    public let train: [DatasetItem]
    /// nil: keep the dataset's val (ImageNet, whose val is the full test set).
    public let val: [DatasetItem]?

    public init(train: [DatasetItem], val: [DatasetItem]?) {
        self.train = train
        self.val = val
    }
}

/// Dassl's `generate_fewshot_dataset` as CoOp calls it: items grouped by label in order
/// of first appearance; a class with ≥ N items gets `random.sample(items, N)`, a smaller class keeps
/// all its items (no repeats); train with N shots first, then val with min(N, 4).
///
/// CoOp runs `set_random_seed(SEED)` (Python `random`, numpy, torch) before building the dataset, so
/// `sample(_:shots:seed:)` equals CoOp's draw when no other `random` call precedes the sampling
/// (true whenever the split JSON already exists) and the item order is CoOp's (split JSON order;
/// not ImageNet, whose order comes from unsorted `os.listdir`). The exact route for any dataset is
/// to export CoOp's `split_fewshot/shot_{N}-seed_{S}.pkl` with `tools/export_fewshot.py` and read
/// it with `load(json:)` / `Dataset.subset(from:)`.
public enum FewShotSampler {
    /// Draws with a fresh `random.seed(seed)`.
    public static func sample(_ dataset: Dataset, shots: Int, seed: Int) -> FewShotSubset {
        var random = CPythonRandom(seed: seed)
        return sample(dataset, shots: shots, random: &random)
    }

    /// Draws from the given generator state (train, then val when `dataset.fewShotSamplesVal`).
    public static func sample(_ dataset: Dataset, shots: Int, random: inout CPythonRandom) -> FewShotSubset {
        let train = sample(dataset.train, shots: shots, random: &random)
        let val = dataset.fewShotSamplesVal ? sample(dataset.val, shots: min(shots, 4), random: &random) : nil
        return FewShotSubset(train: train, val: val)
    }

    /// `generate_fewshot_dataset(items, num_shots=shots)`; shots < 1 returns the items unchanged.
    public static func sample(_ items: [DatasetItem], shots: Int, random: inout CPythonRandom) -> [DatasetItem] {
        guard shots >= 1 else { return items }
        var order: [Int] = []
        var groups: [Int: [DatasetItem]] = [:]
        for item in items {
            if groups[item.label] == nil { order.append(item.label) }
            groups[item.label, default: []].append(item)
        }
        var output: [DatasetItem] = []
        for label in order {
            let group = groups[label]!
            output += group.count >= shots ? random.sample(group, shots) : group
        }
        return output
    }

    /// Reads a few-shot JSON written by `tools/export_fewshot.py`:
    /// `{"train": [[relpath, label, classname], …], "val": […]}` ("val" absent for ImageNet).
    public static func load(json url: URL) throws -> FewShotSubset {
        let split = try SplitFile.read(url, keys: ["train", "val"], optional: ["val"])
        return FewShotSubset(train: split["train"]!, val: split["val"])
    }
}

extension Dataset {
    /// The dataset restricted to a few-shot draw (test unchanged). Every drawn item must be an item
    /// of the same split with the same label, so a draw made for another dataset or image dir is rejected.
    public func subset(_ subset: FewShotSubset, source: String = "few-shot subset") throws -> Dataset {
        func check(_ drawn: [DatasetItem], _ split: Split) throws {
            var labels: [String: Int] = [:]
            for item in items(split) { labels[item.path] = item.label }
            for (i, item) in drawn.enumerated() where labels[item.path] != item.label {
                let problem = labels[item.path] == nil ? "is not in the \(name) \(split) split" : "has label \(item.label), not \(labels[item.path]!)"
                throw DatasetError("\(source): \(split)[\(i)] '\(item.path)' \(problem); export it with tools/export_fewshot.py --image-dir \(imageRoot.path)")
            }
        }
        try check(subset.train, .train)
        if let val = subset.val { try check(val, .val) }
        return try replacing(train: subset.train, val: subset.val ?? val, test: test)
    }

    /// `subset(FewShotSampler.load(json:))`: CoOp's exact draw exported by `tools/export_fewshot.py`.
    public func subset(from json: URL) throws -> Dataset {
        try subset(FewShotSampler.load(json: json), source: json.lastPathComponent)
    }
}

/// The store's name of a few-shot subset: `<N>shot-s<seed>` (cache-schema/SCHEMA.md §5.3), recorded by the indexer and read by the tuner.
public enum FewShotSubsetName {
    public static func make(shots: Int, seed: Int) -> String { "\(shots)shot-s\(seed)" }
}
