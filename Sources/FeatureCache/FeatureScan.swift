import CLMDB
import Foundation
import Hashing

/// Features of one extractor × dataset × split read into one contiguous Float32 buffer, rows in
/// key order (item, then view). When every item has all its views, `values` is
/// [items, viewsPerItem, dim]. The tuner and `cocoon query export` consume it.
public struct FeatureScan {
    public let dim: Int
    /// Number of rows (features).
    public let rows: Int
    /// Item id and view of each row. [rows]
    public var items: [UInt32]
    public var views: [UInt16]
    /// Class label of each row's item (from `items`). [rows]
    public var labels: [Int32]
    /// [rows, dim]
    public var values: [Float]
}

extension FeatureStore {
    /// Reads the features of (ext, ds, split) — all items, or only `items` (sorted ascending, e.g.
    /// a few-shot subset) — in one read transaction, decoding straight into the output buffer.
    /// `normalized`: L2-normalise each row. `verifyChecksums`: check each value's CRC-32C.
    public func scan(ext: ExtractorID, ds: DatasetID, split: Split, items subset: [UInt32]? = nil,
                     normalized: Bool = false, verifyChecksums: Bool = true) throws -> FeatureScan {
        let group = StoreKey.group(ext, ds, split)
        return try environment.read { t in
            let labelOf = try labels(t, ds: ds, split: split)
            // Pass 1 counts rows (keys only) and learns dim; pass 2 decodes into the exact buffer.
            var rows = 0
            var dim = -1
            try walk(t, group: group, subset: subset) { _, v in
                guard let h = FeatureValue.header(v) else { return }
                if dim < 0 { dim = h.dim }
                rows += 1
            }
            dim = max(dim, 0)
            var items = [UInt32](repeating: 0, count: rows)
            var views = [UInt16](repeating: 0, count: rows)
            var labels = [Int32](repeating: -1, count: rows)
            var row = 0
            let values = try uninitializedFloats(rows * dim) { out in
                try walk(t, group: group, subset: subset) { k, v in
                    if let problem = FeatureValue.problem(v, checkCRC: verifyChecksums) {
                        throw StoreError("\(path): \(problem) in feat key \(hexString(k)); run `cocoon store verify` and re-index the item")
                    }
                    let h = FeatureValue.header(v)!
                    guard h.dim == dim, row < rows else {
                        throw StoreError("\(path): feat key \(hexString(k)) has dim \(h.dim), others \(dim); the store mixes extractors under one id, re-index")
                    }
                    let item = StoreKey.readBE(k, at: 18, as: UInt32.self)
                    items[row] = item
                    views[row] = StoreKey.readBE(k, at: 22, as: UInt16.self)
                    labels[row] = Int(item) < labelOf.count ? labelOf[Int(item)] : -1
                    FeatureValue.decode(v, dim: dim, dtype: h.dtype, normalize: normalized, into: out + row * dim)
                    row += 1
                }
            }
            return FeatureScan(dim: dim, rows: rows, items: items, views: views, labels: labels, values: values)
        }
    }

    /// A [count] Float array filled by `fill` without zeroing it first. Large buffers are advised
    /// onto transparent huge pages: first-touch page faults, not decoding, otherwise dominate a scan.
    private func uninitializedFloats(_ count: Int, _ fill: (UnsafeMutablePointer<Float>) throws -> Void) throws -> [Float] {
        try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = 0
            guard let base = buffer.baseAddress, count > 0 else { return }
            let huge = 2 << 20
            let start = (Int(bitPattern: base) + huge - 1) & ~(huge - 1)
            let end = (Int(bitPattern: base + count)) & ~(huge - 1)
            if end > start { madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_HUGEPAGE) }
            try fill(base)
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

    /// Visits the `feat` entries of `group` (24-byte keys), all or those of the `subset` items.
    private func walk(_ t: Transaction, group: [UInt8], subset: [UInt32]?,
                      _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void) throws {
        guard let subset else {
            try t.forEach(.feat, prefix: group) { k, v in
                if k.count == StoreKey.featureLength { try body(k, v) }
                return true
            }
            return
        }
        for item in subset {
            var prefix = group
            StoreKey.appendBE(item, to: &prefix)
            try t.forEach(.feat, prefix: prefix) { k, v in
                if k.count == StoreKey.featureLength { try body(k, v) }
                return true
            }
        }
    }
}
