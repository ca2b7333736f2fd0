import Hashing

/// The selection data of a dataset without a val split of its own (val empty, or val = test as in
/// CoOp's ImageNet layout): a held-out slice of train outside the few-shot draw. Per class, the
/// train items are ordered by `order(of:)` (a fixed seeded shuffle: SplitMix64's finaliser of the
/// 64-bit FNV-1a of seed 0x5e1ec7 as 8 little-endian bytes, then the relative path's UTF-8, ties by
/// path), the items of the draw are skipped, and the first `perClass` are kept. The order depends
/// only on the paths, so it is the same on every machine, for every listing order and every seed;
/// the slice differs between draws only where a draw takes one of its items. The indexer encodes
/// the slice's view 0 (`--train-items fewshot`); `CachedDataset` selects hyper-parameters on it.
public enum TrainHoldout {
    /// Items per class in the slice (fewer where a class has fewer train items outside the draw).
    public static let perClass = 16
    /// The seed of the slice's shuffle.
    public static let shuffleSeed: UInt64 = 0x5E1EC7

    /// Whether `dataset` selects on the held-out slice: it has no val split, or its val is its test
    /// split (ImageNet), which selection must never read.
    public static func isNeeded(_ dataset: Dataset) -> Bool {
        dataset.val.isEmpty || dataset.val == dataset.test
    }

    /// The slice for a draw: per class (in label order) the first `perClass` items of `train` in
    /// shuffle order that are not in `draw`. Labels as in `train`.
    public static func items(_ train: [DatasetItem], excluding draw: [DatasetItem]) -> [DatasetItem] {
        let drawn = Set(draw.map(\.path))
        let byClass = Dictionary(grouping: train.filter { !drawn.contains($0.path) }, by: \.label)
        return byClass.keys.sorted().flatMap { label -> [DatasetItem] in
            let ordered = byClass[label]!.map { (key: order(of: $0.path), item: $0) }
                .sorted { $0.key != $1.key ? $0.key < $1.key : $0.item.path < $1.item.path }
            return ordered.prefix(perClass).map(\.item)
        }
    }

    /// The shuffle key of an item's relative path.
    public static func order(of path: String) -> UInt64 {
        var hash = FNV1a64()
        hash.feedLittleEndian(shuffleSeed)
        hash.feed(path.utf8)
        return SplitMix64.mix(hash.value)
    }
}
