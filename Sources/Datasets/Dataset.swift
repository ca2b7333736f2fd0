import DatasetNames
import Foundation
import Hashing

/// A dataset as CoOp sees it after reading: three item lists plus the label space. `classnames[i]` is
/// the name of label i, taken from the unique (label, name) pairs of `train` sorted by label (Dassl's
/// `get_lab2cname`); train labels must be exactly 0..<K and val/test labels must lie in 0..<K.
/// Test-only sets (the ImageNet variants, image folders without split subfolders) have
/// `train == test` and an empty `val`. For ImageNet `val == test` and `fewShotSamplesVal` is false
/// (CoOp subsamples only its train split). Built by `DatasetCatalog`; used by the indexer and the tuner.
public struct Dataset: Sendable {
    /// Canonical name (e.g. "OxfordPets"; for generic layouts the folder name).
    public let name: String
    /// Folder the item paths are relative to (CoOp's split-JSON prefix).
    public let imageRoot: URL
    /// Label → raw class name (underscores kept).
    public let classnames: [String]
    public let train: [DatasetItem]
    public let val: [DatasetItem]
    public let test: [DatasetItem]
    /// Zero-shot and ensembling templates (CoOp's `zsclip.py`).
    public let templates: DatasetTemplates
    /// Whether few-shot sampling also draws from `val` (min(N, 4) per class); false for ImageNet.
    public let fewShotSamplesVal: Bool

    /// Validates the label space and derives `classnames` from `train`.
    public init(name: String, imageRoot: URL, train: [DatasetItem], val: [DatasetItem], test: [DatasetItem],
                templates: DatasetTemplates, fewShotSamplesVal: Bool = true) throws {
        var names: [Int: String] = [:]
        for item in train {
            if let known = names[item.label], known != item.classname {
                throw DatasetError("\(name): label \(item.label) has two class names in train ('\(known)' and '\(item.classname)'); fix the split file")
            }
            names[item.label] = item.classname
        }
        if train.isEmpty { throw DatasetError("\(name): the train split is empty; check the dataset folder \(imageRoot.path)") }
        let count = names.count
        if let bad = names.keys.first(where: { $0 < 0 || $0 >= count }) {
            let missing = (0..<count).first { names[$0] == nil } ?? 0
            throw DatasetError("\(name): train labels must be 0..<\(count) but label \(bad) appears and \(missing) has no item; renumber the labels")
        }
        for (split, items) in [(Split.val, val), (.test, test)] {
            if let bad = items.first(where: { $0.label < 0 || $0.label >= count }) {
                throw DatasetError("\(name): \(split) item '\(bad.path)' has label \(bad.label), outside the \(count) train classes; fix the split file")
            }
        }
        self.name = name
        self.imageRoot = imageRoot
        self.classnames = (0..<count).map { names[$0]! }
        self.train = train
        self.val = val
        self.test = test
        self.templates = templates
        self.fewShotSamplesVal = fewShotSamplesVal
    }

    /// Number of classes K.
    public var numClasses: Int { classnames.count }

    /// Class names as prompts use them ("_" → " ").
    public var displayClassnames: [String] { classnames.map(PromptTemplates.displayName) }

    /// A test-only dataset (ImageNet-V2/Sketch/A/R, an image folder without split folders, a CSV
    /// with only test.csv): its train split is its test split, kept so that classes derive from it.
    public var isTestOnly: Bool { val.isEmpty && train == test }

    /// The items a feature store records for `split`: none for the train split of a test-only
    /// dataset, so the store itself says that it has no training data (the tuner refuses it).
    public func indexedItems(_ split: Split) -> [DatasetItem] {
        split == .train && isTestOnly ? [] : items(split)
    }

    /// The items of one split.
    public func items(_ split: Split) -> [DatasetItem] {
        switch split {
        case .train: return train
        case .val: return val
        case .test: return test
        }
    }

    /// Absolute location of an item's image (not checked for existence; the indexer reports missing files).
    public func url(of item: DatasetItem) -> URL {
        imageRoot.appendingPathComponent(item.path)
    }

    /// A copy with other item lists and the same name, root, templates and policy (classnames re-derived).
    public func replacing(train: [DatasetItem], val: [DatasetItem], test: [DatasetItem]) throws -> Dataset {
        try Dataset(name: name, imageRoot: imageRoot, train: train, val: val, test: test,
                    templates: templates, fewShotSamplesVal: fewShotSamplesVal)
    }

    /// SHA-256 (hex) over the lines "<split>\t<path>\t<label>\n" of all items, sorted bytewise.
    /// Identifies the content of the manifest independently of listing order and of `imageRoot`.
    public var manifestSHA256: String {
        var lines: [[UInt8]] = []
        lines.reserveCapacity(train.count + val.count + test.count)
        for split in Split.allCases {
            for item in items(split) { lines.append(Array("\(split)\t\(item.path)\t\(item.label)\n".utf8)) }
        }
        lines.sort { $0.lexicographicallyPrecedes($1) }
        var hasher = SHA256()
        for line in lines { hasher.update(line) }
        return hexString(hasher.finalize())
    }
}
