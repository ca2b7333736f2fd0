import Foundation

/// Which half of the classes to keep (CoOp's `DATASET.SUBSAMPLE_CLASSES`: all, base or new).
public enum ClassSubset: String, CaseIterable, Sendable {
    case all, base, new
}

extension Dataset {
    /// CoOp's `subsample_classes`: labels = sorted set of train labels, m = ceil(n/2); `base` keeps
    /// labels[..<m], `new` keeps labels[m...]; kept labels are renumbered 0.. in sorted order in
    /// train, val and test (other items dropped) and class names follow. `all` returns self.
    public func subsampleClasses(_ subset: ClassSubset) throws -> Dataset {
        if subset == .all { return self }
        return try replacing(train: keepingClasses(subset, of: train), val: keepingClasses(subset, of: val),
                             test: keepingClasses(subset, of: test))
    }

    /// The items of `items` (labels of this dataset) in the `subset` half of this dataset's train
    /// labels, renumbered as `subsampleClasses` renumbers them; others dropped. `all` keeps all.
    public func keepingClasses(_ subset: ClassSubset, of items: [DatasetItem]) -> [DatasetItem] {
        if subset == .all { return items }
        let labels = Set(train.map(\.label)).sorted()
        let m = (labels.count + 1) / 2
        let selected = subset == .base ? labels[..<m] : labels[m...]
        var relabel: [Int: Int] = [:]
        for (new, old) in selected.enumerated() { relabel[old] = new }
        return items.compactMap { item in
            relabel[item.label].map { DatasetItem(path: item.path, label: $0, classname: item.classname) }
        }
    }
}
