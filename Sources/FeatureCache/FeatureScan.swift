import CLMDB
import DatasetNames
import Foundation
import Hashing

/// Features of one extractor × dataset × split read into one contiguous Float32 buffer, rows in
/// key order (item, then view 0, then the chosen recipe's views 1…K). When every item has all
/// its views, `values` is [items, 1 + K, dim]. The tuner and `cocoon query export` consume it.
public struct FeatureScan {
    public internal(set) var dim: Int
    /// Number of rows (features).
    public internal(set) var rows: Int
    /// Item id and view of each row (0: the eval view; 1…K: views of the scanned recipe). [rows]
    public var items: [UInt32]
    public var views: [UInt16]
    /// Class label of each row's item (from `items`). [rows]
    public var labels: [Int32]
    /// [rows, dim]
    public var values: [Float]

    /// An empty scan, to be filled (and later refilled without reallocation) by `scan(…, into:)`.
    public init() { self.init(dim: 0, rows: 0, items: [], views: [], labels: [], values: []) }

    init(dim: Int, rows: Int, items: [UInt32], views: [UInt16], labels: [Int32], values: [Float]) {
        self.dim = dim
        self.rows = rows
        self.items = items
        self.views = views
        self.labels = labels
        self.values = values
    }
}

extension FeatureStore {
    /// Reads the features of (ext, ds, split) — all items, or only `items` (sorted ascending, e.g.
    /// a few-shot subset) — in one read transaction, decoding straight into the output buffer:
    /// view 0 of each item, then the views of `recipe` when given (other recipes are skipped).
    /// `normalized`: L2-normalise each row. `verifyChecksums`: check each value's CRC-32C.
    public func scan(ext: ExtractorID, ds: DatasetID, split: Split, items subset: [UInt32]? = nil, recipe: RecipeID? = nil,
                     normalized: Bool = false, verifyChecksums: Bool = true) throws -> FeatureScan {
        var result = FeatureScan()
        try scan(ext: ext, ds: ds, split: split, items: subset, recipe: recipe, normalized: normalized,
                 verifyChecksums: verifyChecksums, into: &result)
        return result
    }

    /// The same scan into `result`, reusing its buffers when they are large enough: repeated
    /// scans (epochs, evaluation) then touch no fresh memory, whose first-touch page faults cost
    /// more than decoding.
    public func scan(ext: ExtractorID, ds: DatasetID, split: Split, items subset: [UInt32]? = nil, recipe: RecipeID? = nil,
                     normalized: Bool = false, verifyChecksums: Bool = true, into result: inout FeatureScan) throws {
        let group = StoreKey.group(ext, ds, split)
        let wanted = recipe ?? .eval
        try environment.read { t in
            let labelOf = try labels(t, ds: ds, split: split)
            // Pass 1 counts rows (keys only) and learns dim; pass 2 decodes into the exact buffer.
            var rows = 0
            var dim = -1
            try walk(t, group: group, subset: subset, recipe: wanted) { _, v in
                guard let h = FeatureValue.header(v) else { return }
                if dim < 0 { dim = h.dim }
                rows += 1
            }
            dim = max(dim, 0)
            resize(&result.items, rows, 0)
            resize(&result.views, rows, 0)
            resize(&result.labels, rows, -1)
            if result.values.count > rows * dim {
                result.values.removeLast(result.values.count - rows * dim)  // keeps the capacity
            } else if result.values.count < rows * dim {
                result.values = []
                result.values = uninitializedFloats(rows * dim)  // pass 2 writes every row
            }
            result.rows = rows
            result.dim = dim
            var row = 0
            var items = result.items, views = result.views, labels = result.labels
            result.items = []; result.views = []; result.labels = []  // unique references: no copy on write
            defer { result.items = items; result.views = views; result.labels = labels }
            try result.values.withUnsafeMutableBufferPointer { buffer in
                guard let out = buffer.baseAddress else { return }
                try walk(t, group: group, subset: subset, recipe: wanted) { k, v in
                    if let problem = FeatureValue.problem(v, checkCRC: verifyChecksums) {
                        throw StoreError("\(path): \(problem) in feat key \(hexString(k)); run `cocoon store verify` and re-index the item")
                    }
                    let h = FeatureValue.header(v)!
                    guard h.dim == dim, row < rows else {
                        throw StoreError("\(path): feat key \(hexString(k)) has dim \(h.dim), others \(dim); the store mixes extractors under one id, re-index")
                    }
                    let item = StoreKey.readBE(k, at: StoreKey.itemOffset, as: UInt32.self)
                    items[row] = item
                    views[row] = StoreKey.readBE(k, at: StoreKey.viewOffset, as: UInt16.self)
                    labels[row] = Int(item) < labelOf.count ? labelOf[Int(item)] : -1
                    FeatureValue.decode(v, dim: dim, dtype: h.dtype, normalize: normalized, into: out + row * dim)
                    row += 1
                }
            }
        }
    }

    private func resize<T>(_ a: inout [T], _ count: Int, _ fill: T) {
        if a.count > count { a.removeLast(a.count - count) } else if a.count < count { a += repeatElement(fill, count: count - a.count) }
    }

    /// A [count] Float array with unspecified contents (no zeroing pass over fresh memory); large
    /// buffers are advised onto transparent huge pages to cut the number of first-touch faults.
    private func uninitializedFloats(_ count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let base = buffer.baseAddress, count > 0 {
                let huge = 2 << 20
                let start = (Int(bitPattern: base) + huge - 1) & ~(huge - 1)
                let end = Int(bitPattern: base + count) & ~(huge - 1)
                if end > start { madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_HUGEPAGE) }
            }
            initialized = count
        }
    }

    /// Labels of a split indexed by item id (-1 where an item record is missing).
    private func labels(_ t: Transaction, ds: DatasetID, split: Split) throws -> [Int32] {
        var out: [Int32] = []
        try t.forEach(.items, prefix: StoreKey.itemGroup(ds, split)) { k, v in
            let item = Int(StoreKey.readBE(k, at: 9, as: UInt32.self))
            if out.count <= item { out += repeatElement(-1, count: item + 1 - out.count) }
            out[item] = ItemRecord.label(v) ?? -1
            return true
        }
        return out
    }

    /// Visits the `feat` entries of `group`, all or those of the `subset` items: view 0 and the
    /// views of `recipe` (view 0 alone when `recipe` is `.eval`).
    private func walk(_ t: Transaction, group: [UInt8], subset: [UInt32]?, recipe: RecipeID,
                      _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void) throws {
        func visit(_ k: UnsafeRawBufferPointer, _ v: UnsafeRawBufferPointer) throws {
            guard k.count == StoreKey.featureLength else { return }
            let r = RecipeID(raw: StoreKey.readBE(k, at: StoreKey.recipeOffset, as: UInt32.self))
            if r == .eval || r == recipe { try body(k, v) }
        }
        guard let subset else {
            try t.forEach(.feat, prefix: group) { k, v in try visit(k, v); return true }
            return
        }
        for item in subset {
            var prefix = group
            StoreKey.appendBE(item, to: &prefix)
            try t.forEach(.feat, prefix: prefix) { k, v in try visit(k, v); return true }
        }
    }
}
