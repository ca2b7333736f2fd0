import CLMDB
import DatasetNames
import Dispatch
import Foundation
import Hashing

/// Writer of one indexing run of (extractor × dataset × split). Buffers items, and once
/// `batchItems` items or `commitSeconds` of work are pending commits their features together with
/// the job progress record in ONE transaction (so a crash or a full disk loses at most that much
/// encoding, whatever the number of views per item), so an item's views are stored all or none and the record never claims an
/// uncommitted item; a killed run's successor writes only the (item, view) pairs the store lacks
/// (`FeatureStore.storedViews`). The buffer is kept until the commit succeeds, so MDB_MAP_FULL is
/// handled by abort–grow–replay.
/// Holds the store's indexer lock (`IndexerLock`) for its lifetime. Not thread-safe: one owner.
public final class FeatureWriter {
    public let store: FeatureStore
    public let ext: ExtractorID
    public let ds: DatasetID
    public let split: Split
    public let dtype: FeatureDType
    public let dim: Int
    /// Most views one item may bring (view 0 and K augmented views).
    public let maxViewsPerItem: Int
    public let batchItems: Int
    /// Seconds of work after which the pending items are committed, however few.
    public let commitSeconds: Double

    private var job: JobRecord
    private let lock: IndexerLock
    private let valueSize: Int
    private let group: [UInt8]
    // Batch buffers, allocated once: keys [capacity, 28] and values [capacity, valueSize];
    // the first `buffered` rows hold the features of the current batch.
    private let capacity: Int
    private let keys: UnsafeMutableRawPointer
    private let values: UnsafeMutableRawPointer
    private var buffered = 0
    private var batchFailures: [(item: UInt32, json: [UInt8])] = []
    private var batchItemCount = 0
    private var pendingNext: UInt32
    /// When the oldest uncommitted work began (uptime ns): the writer's creation or the last commit.
    private var pendingSince = DispatchTime.now().uptimeNanoseconds
    private let clearsOldFailures: Bool

    /// Opens a run for (ext, ds, split) writing view 0 and up to `augmentedViews` views of
    /// `recipe` per item (keeping the counters of earlier runs' job record). The extractor,
    /// dataset and recipe must be registered.
    public init(store: FeatureStore, ext: ExtractorID, ds: DatasetID, split: Split, recipe: RecipeID? = nil,
                augmentedViews: Int = 0, dtype: FeatureDType = .f16, batchItems: Int = 512,
                commitSeconds: Double = .infinity) throws {
        guard let extractor = try store.extractor(ext) else {
            throw StoreError("\(store.path): extractor \(ext) is not registered; register it before writing features")
        }
        guard try store.dataset(ds) != nil else {
            throw StoreError("\(store.path): dataset \(ds) is not registered; register it before writing features")
        }
        if let recipe, try store.recipe(recipe) == nil {
            throw StoreError("\(store.path): recipe \(recipe) is not registered; register it before writing features")
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
        self.maxViewsPerItem = 1 + (recipe == nil ? 0 : max(0, augmentedViews))
        self.batchItems = max(1, batchItems)
        self.commitSeconds = commitSeconds
        lock = try IndexerLock(storePath: store.path)
        valueSize = FeatureValue.size(dim: dim, dtype: dtype)
        var job = try store.job(ext: ext, ds: ds, split: split)
            ?? JobRecord(ext: ext, ds: ds, split: split, recipe: recipe, augmentedViews: augmentedViews)
        job.recipe = recipe
        job.augmentedViews = recipe == nil ? 0 : augmentedViews
        job.nextItem = 0
        job.status = "running"
        job.host = ProcessInfo.processInfo.hostName
        job.pid = Int(getpid())
        self.job = job
        pendingNext = job.nextItem
        clearsOldFailures = !(try store.failures(ext: ext, ds: ds, split: split).isEmpty)
        group = StoreKey.group(ext, ds, split)
        capacity = self.batchItems * maxViewsPerItem
        keys = .allocate(byteCount: capacity * StoreKey.featureLength, alignment: 16)
        values = .allocate(byteCount: capacity * valueSize, alignment: 16)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Buffers the features of `item`: `features` is [views.count, dim], row j holding view
    /// `views[j]` (in increasing order; `ViewKey.eval` first when present). Items must come in
    /// increasing id order. Commits when the batch is full.
    public func add(item: UInt32, features: UnsafeBufferPointer<Float>, views: [ViewKey] = [.eval], normalized: Bool = false) throws {
        try checkOrder(item)
        guard !views.isEmpty, views.count <= maxViewsPerItem, features.count == views.count * dim,
              zip(views, views.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw StoreError("\(store.path): item \(item) has \(features.count) values for \(views.count) views; expected 1…\(maxViewsPerItem) distinct views in order × \(dim)")
        }
        for (v, view) in views.enumerated() {
            let row = buffered + v
            let ok = FeatureValue.encode(features.baseAddress! + v * dim, dim: dim, dtype: dtype, normalized: normalized,
                                         into: values + row * valueSize)
            guard ok else {
                throw StoreError("\(store.path): item \(item) view \(view.view) has a non-finite value or one beyond f16 range (±65504); index with --dtype f32 or check the model")
            }
            let key = keys + row * StoreKey.featureLength
            group.withUnsafeBytes { key.copyMemory(from: $0.baseAddress!, byteCount: StoreKey.groupLength) }
            key.storeBytes(of: item.bigEndian, toByteOffset: StoreKey.itemOffset, as: UInt32.self)
            key.storeBytes(of: view.recipe.raw.bigEndian, toByteOffset: StoreKey.recipeOffset, as: UInt32.self)
            key.storeBytes(of: view.view.bigEndian, toByteOffset: StoreKey.viewOffset, as: UInt16.self)
        }
        buffered += views.count
        try endItem(item)
    }

    public func add(item: UInt32, features: [Float], views: [ViewKey] = [.eval], normalized: Bool = false) throws {
        try features.withUnsafeBufferPointer { try add(item: item, features: $0, views: views, normalized: normalized) }
    }

    /// Records that `item` failed (all its views), with the error text, instead of stopping the job.
    public func addFailure(item: UInt32, error: String) throws {
        try checkOrder(item)
        let json = JSON.object(["error": .string(error), "unix": .int(Int(Date().timeIntervalSince1970))])
        batchFailures.append((item, json.canonical))
        try endItem(item)
    }

    /// Commits the buffered items now (also done automatically, see the type's comment).
    public func commit() throws {
        pendingSince = DispatchTime.now().uptimeNanoseconds
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
            throw StoreError("\(store.path): item \(item) comes after item \(pendingNext == 0 ? 0 : pendingNext - 1) was written; add items in increasing id order")
        }
    }

    private func endItem(_ item: UInt32) throws {
        pendingNext = item + 1
        batchItemCount += 1
        let pending = Double(DispatchTime.now().uptimeNanoseconds - pendingSince) / 1e9
        if batchItemCount >= batchItems || pending >= commitSeconds { try commit() }
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
                // The item was read this time: an earlier run's failure is void (once per item).
                if clearsOldFailures, i == 0 || memcmp(key.baseAddress!, keys + (i - 1) * keySize, StoreKey.recipeOffset) != 0 {
                    try t.delete(.failures, Array(key[0..<StoreKey.recipeOffset]))
                }
            }
            for f in batchFailures {
                try t.put(.failures, StoreKey.failure(ext, ds, split, item: f.item), f.json)
            }
            try t.put(.jobs, StoreKey.group(ext, ds, split), job.json.canonical)
        }
    }
}
