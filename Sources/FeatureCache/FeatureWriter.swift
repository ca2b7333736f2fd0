import CLMDB
import Foundation
import Hashing

/// Resumable writer of one indexing job (extractor × dataset × split). Buffers items, and every
/// `batchItems` items commits them together with the job progress record in ONE transaction, so
/// the record never claims an uncommitted item; a killed job resumes at `nextItem`. The buffer is
/// kept until the commit succeeds, so MDB_MAP_FULL is handled by abort–grow–replay.
/// Holds the store's indexer lock (`IndexerLock`) for its lifetime. Not thread-safe: one owner.
public final class FeatureWriter {
    public let store: FeatureStore
    public let ext: ExtractorID
    public let ds: DatasetID
    public let split: Split
    public let dtype: FeatureDType
    public let dim: Int
    public let viewsPerItem: Int
    public let batchItems: Int
    /// First item id not yet committed (where a resumed job continues).
    public var nextItem: UInt32 { job.nextItem }

    private var job: JobRecord
    private let lock: IndexerLock
    private let valueSize: Int
    private let group: [UInt8]
    // Batch buffers, allocated once: keys [capacity, 24] and values [capacity, valueSize];
    // the first `buffered` rows hold the features of the current batch.
    private let capacity: Int
    private let keys: UnsafeMutableRawPointer
    private let values: UnsafeMutableRawPointer
    private var buffered = 0
    private var batchFailures: [(item: UInt32, json: [UInt8])] = []
    private var batchItemCount = 0
    private var pendingNext: UInt32
    private let clearsOldFailures: Bool

    /// Opens the job for (ext, ds, split), resuming its progress record if one exists. The
    /// extractor and dataset must be registered; views per item come from the extractor record.
    public init(store: FeatureStore, ext: ExtractorID, ds: DatasetID, split: Split,
                dtype: FeatureDType = .f16, batchItems: Int = 512) throws {
        guard let extractor = try store.extractor(ext) else {
            throw StoreError("\(store.path): extractor \(ext) is not registered; register it before writing features")
        }
        guard try store.dataset(ds) != nil else {
            throw StoreError("\(store.path): dataset \(ds) is not registered; register it before writing features")
        }
        guard extractor.embedDim > 0, extractor.embedDim <= Int(UInt16.max) else {
            throw StoreError("\(store.path): extractor \(ext) has embed dim \(extractor.embedDim); it must be 1…65535")
        }
        self.store = store
        self.ext = ext
        self.ds = ds
        self.split = split
        self.dtype = dtype
        self.dim = extractor.embedDim
        self.viewsPerItem = extractor.viewsPerItem
        self.batchItems = max(1, batchItems)
        lock = try IndexerLock(storePath: store.path)
        valueSize = FeatureValue.size(dim: dim, dtype: dtype)
        var job = try store.job(ext: ext, ds: ds, split: split)
            ?? JobRecord(ext: ext, ds: ds, split: split, viewsPerItem: extractor.viewsPerItem)
        job.status = "running"
        job.host = ProcessInfo.processInfo.hostName
        job.pid = Int(getpid())
        self.job = job
        pendingNext = job.nextItem
        clearsOldFailures = !(try store.failures(ext: ext, ds: ds, split: split).isEmpty)
        group = StoreKey.group(ext, ds, split)
        capacity = self.batchItems * viewsPerItem
        keys = .allocate(byteCount: capacity * StoreKey.featureLength, alignment: 16)
        values = .allocate(byteCount: capacity * valueSize, alignment: 16)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Buffers the features of `item`: `features` is [views, dim], view 0 first, where `views`
    /// (default `viewsPerItem`) may be fewer for items without augmented views (val/test items,
    /// items outside the few-shot subsets). Items must come in increasing id order, from
    /// `nextItem` on. Commits when the batch is full.
    public func add(item: UInt32, features: UnsafeBufferPointer<Float>, views: Int? = nil, normalized: Bool = false) throws {
        try checkOrder(item)
        let views = views ?? viewsPerItem
        guard views >= 1, views <= viewsPerItem, features.count == views * dim else {
            throw StoreError("\(store.path): item \(item) has \(features.count) values, expected 1…\(viewsPerItem) views × \(dim)")
        }
        for v in 0..<views {
            let row = buffered + v
            let ok = FeatureValue.encode(features.baseAddress! + v * dim, dim: dim, dtype: dtype, normalized: normalized,
                                         into: values + row * valueSize)
            guard ok else {
                throw StoreError("\(store.path): item \(item) view \(v) has a non-finite value or one beyond f16 range (±65504); index with --dtype f32 or check the model")
            }
            let key = keys + row * StoreKey.featureLength
            group.withUnsafeBytes { key.copyMemory(from: $0.baseAddress!, byteCount: StoreKey.groupLength) }
            key.storeBytes(of: item.bigEndian, toByteOffset: 18, as: UInt32.self)
            key.storeBytes(of: UInt16(v).bigEndian, toByteOffset: 22, as: UInt16.self)
        }
        buffered += views
        try endItem(item)
    }

    public func add(item: UInt32, features: [Float], views: Int? = nil, normalized: Bool = false) throws {
        try features.withUnsafeBufferPointer { try add(item: item, features: $0, views: views, normalized: normalized) }
    }

    /// Records that `item` failed (all its views), with the error text, instead of stopping the job.
    public func addFailure(item: UInt32, error: String) throws {
        try checkOrder(item)
        let json = JSON.object(["error": .string(error), "unix": .int(Int(Date().timeIntervalSince1970))])
        batchFailures.append((item, json.canonical))
        try endItem(item)
    }

    /// Commits the buffered items now (also done automatically every `batchItems` items).
    public func commit() throws {
        guard batchItemCount > 0 else { return }
        var next = job
        next.nextItem = pendingNext
        next.features += buffered
        next.failures = job.failures + batchFailures.count
        next.updatedUnix = Int(Date().timeIntervalSince1970)
        if buffered > 0 {
            next.lastKey = hexString(UnsafeRawBufferPointer(start: keys + (buffered - 1) * StoreKey.featureLength,
                                                            count: StoreKey.featureLength))
        }
        try write(job: next)
        job = next
        buffered = 0
        batchFailures.removeAll(keepingCapacity: true)
        batchItemCount = 0
    }

    /// Commits the rest and marks the job complete.
    public func finish() throws {
        try commit()
        job.status = "complete"
        job.updatedUnix = Int(Date().timeIntervalSince1970)
        try write(job: job)
    }

    private func checkOrder(_ item: UInt32) throws {
        guard item >= pendingNext else {
            throw StoreError("\(store.path): item \(item) comes after item \(pendingNext == 0 ? 0 : pendingNext - 1) was written; add items in increasing id order from \(job.nextItem)")
        }
    }

    private func endItem(_ item: UInt32) throws {
        pendingNext = item + 1
        batchItemCount += 1
        if batchItemCount >= batchItems { try commit() }
    }

    /// One transaction: the buffered features (MDB_APPEND when they extend the end of `feat`),
    /// the failures, and the job record. Replayed from the buffers if the map must grow.
    private func write(job: JobRecord) throws {
        let n = buffered, keySize = StoreKey.featureLength, valueSize = self.valueSize
        let keys = self.keys, values = self.values
        try store.environment.write { t in
            var flags: UInt32 = 0
            if n > 0 {
                let last = try t.lastKey(.feat)
                if last == nil || last!.lexicographicallyPrecedes(UnsafeRawBufferPointer(start: keys, count: keySize)) {
                    flags = UInt32(MDB_APPEND)
                }
            }
            for i in 0..<n {
                let key = UnsafeRawBufferPointer(start: keys + i * keySize, count: keySize)
                try t.put(.feat, key, UnsafeRawBufferPointer(start: values + i * valueSize, count: valueSize), flags: flags)
                if clearsOldFailures, key[keySize - 1] == 0, key[keySize - 2] == 0 {
                    try t.delete(.failures, Array(key[0..<(keySize - 2)]))
                }
            }
            for f in batchFailures {
                try t.put(.failures, StoreKey.failure(ext, ds, split, item: f.item), f.json)
            }
            try t.put(.jobs, StoreKey.group(ext, ds, split), job.json.canonical)
        }
    }
}
