import DatasetNames
import Foundation
import Hashing

/// A cocoon feature store: one LMDB directory holding features of any number of extractors
/// (backbone + eval preprocessing), augmentation recipes and datasets, with their records. `cocoon index`
/// writes through `writer(…)`, the tuner reads through `scan(…)`, `cocoon query`/`store` use the
/// rest. Many `FeatureStore` values on one path share one environment (see `EnvironmentRegistry`).
public final class FeatureStore {
    /// How to open a store.
    public struct Options {
        /// Create the directory and an empty store if there is none.
        public var create: Bool
        /// Initial LMDB map size; the file is sparse, so a large map costs no disk.
        public var initialMapSize: Int
        /// The map doubles on MDB_MAP_FULL up to this size.
        public var maxMapSize: Int
        public init(create: Bool = false, initialMapSize: Int = 64 << 30, maxMapSize: Int = 1 << 44) {
            self.create = create
            self.initialMapSize = initialMapSize
            self.maxMapSize = maxMapSize
        }
    }

    /// Canonical path of the store directory.
    public var path: String { environment.path }
    let environment: LMDBEnvironment

    /// Opens the store in directory `path`, refusing a store of another schema version.
    public init(path: String, options: Options = Options()) throws {
        let env = try EnvironmentRegistry.acquire(path: path, create: options.create,
                                                  initialMapSize: options.initialMapSize,
                                                  maxMapSize: options.maxMapSize)
        // Checked before `environment` is set: a refused open must not reach deinit's release.
        do { try env.read { try MetaRecord.check($0) } } catch {
            EnvironmentRegistry.release(env)
            throw error
        }
        environment = env
    }

    deinit { EnvironmentRegistry.release(environment) }

    /// Opens the existing store at `path` (never creates one): what every reading command does.
    public static func openExisting(path: String) throws -> FeatureStore {
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError("\(path): no such store; check the path or run `cocoon index`") }
        return try FeatureStore(path: path)
    }

    /// Current LMDB map size in bytes (grows by doubling on demand).
    public var mapSize: Int { environment.mapSize }

    // MARK: extractors

    /// Records `record` (idempotent) and returns its id. Refuses a model name already registered
    /// with another fingerprint.
    @discardableResult
    public func registerExtractor(_ record: ExtractorRecord) throws -> ExtractorID {
        let id = record.id
        try environment.write { t in
            let nameKey = Array(record.modelName.utf8)
            guard !nameKey.isEmpty, nameKey.count <= 500 else {
                throw StoreError("\(path): model name must be 1–500 bytes, got \(nameKey.count); pass a shorter --name")
            }
            if let bytes = try t.get(.models, nameKey) {
                let known = try ModelRecord(json: try parse(bytes, "models/\(record.modelName)"), what: "\(path) models/\(record.modelName)")
                if let refusal = known.conflict(with: record, store: path) { throw refusal }
            } else {
                try t.put(.models, nameKey, ModelRecord(record).json.canonical)
            }
            try t.put(.extractors, StoreKey.extractor(id), record.json.canonical)
        }
        return id
    }

    public func extractor(_ id: ExtractorID) throws -> ExtractorRecord? {
        try environment.read { t in
            guard let bytes = try t.get(.extractors, StoreKey.extractor(id)) else { return nil }
            return try ExtractorRecord(json: try parse(bytes, "extractors/\(id)"), what: "\(path) extractors/\(id)")
        }
    }

    /// Every extractor with its id, in id order.
    public func extractors() throws -> [(id: ExtractorID, record: ExtractorRecord)] {
        try environment.read { t in
            var out: [(ExtractorID, ExtractorRecord)] = []
            try t.forEach(.extractors, prefix: []) { k, v in
                let id = ExtractorID(raw: StoreKey.readBE(k, at: 0, as: UInt64.self))
                out.append((id, try ExtractorRecord(json: try parse(Array(v), "extractors/\(id)"), what: "\(path) extractors/\(id)")))
                return true
            }
            return out
        }
    }

    // MARK: recipes

    /// Records `record` (idempotent) and returns its id.
    @discardableResult
    public func registerRecipe(_ record: RecipeRecord) throws -> RecipeID {
        let id = record.id
        try environment.write { t in
            if let bytes = try t.get(.recipes, StoreKey.recipe(id)) {
                let stored = try RecipeRecord(json: try parse(bytes, "recipes/\(id)"), what: "\(path) recipes/\(id)")
                guard stored == record else {
                    throw StoreError("\(path): recipe id \(id) names another recipe here (\(stored.policy), seed \(stored.seed)); choose another --seed")
                }
                return
            }
            try t.put(.recipes, StoreKey.recipe(id), record.json.canonical)
        }
        return id
    }

    public func recipe(_ id: RecipeID) throws -> RecipeRecord? {
        try environment.read { t in
            guard let bytes = try t.get(.recipes, StoreKey.recipe(id)) else { return nil }
            return try RecipeRecord(json: try parse(bytes, "recipes/\(id)"), what: "\(path) recipes/\(id)")
        }
    }

    /// Every recipe with its id, in id order.
    public func recipes() throws -> [(id: RecipeID, record: RecipeRecord)] {
        try environment.read { t in
            var out: [(RecipeID, RecipeRecord)] = []
            try t.forEach(.recipes, prefix: []) { k, v in
                let id = RecipeID(raw: StoreKey.readBE(k, at: 0, as: UInt32.self))
                out.append((id, try RecipeRecord(json: try parse(Array(v), "recipes/\(id)"), what: "\(path) recipes/\(id)")))
                return true
            }
            return out
        }
    }

    /// The views stored for each item of (ext, ds, split), from one walk over the keys: what an
    /// indexing run skips, and how the lookup learns which recipes a split has.
    public func storedViews(ext: ExtractorID, ds: DatasetID, split: Split) throws -> [UInt32: [ViewKey]] {
        try environment.read { t in
            var out: [UInt32: [ViewKey]] = [:]
            try t.forEach(.feat, prefix: StoreKey.group(ext, ds, split)) { k, _ in
                if k.count == StoreKey.featureLength {
                    out[StoreKey.readBE(k, at: StoreKey.itemOffset, as: UInt32.self), default: []].append(StoreKey.viewKey(k))
                }
                return true
            }
            return out
        }
    }

    // MARK: datasets and items

    /// Records a dataset and its items (item id = index in each split's array, which must be in
    /// manifest order) in one transaction; idempotent. Returns the record (its `id` keys features).
    @discardableResult
    public func registerDataset(name: String, classnames: [String], items: [Split: [ItemRecord]]) throws -> DatasetRecord {
        var counts: [String: Int] = [:]
        for (split, list) in items where !list.isEmpty { counts[split.description] = list.count }
        let record = DatasetRecord(name: name, classnames: classnames, splitCounts: counts,
                                   manifestSHA256: DatasetRecord.manifestSHA256(items))
        let id = record.id
        try environment.write { t in
            try t.put(.datasets, StoreKey.dataset(id), record.json.canonical)
            for (split, list) in items {
                for (i, item) in list.enumerated() {
                    try t.put(.items, StoreKey.item(id, split, UInt32(i)), item.encoded)
                }
            }
        }
        return record
    }

    public func dataset(_ id: DatasetID) throws -> DatasetRecord? {
        try environment.read { t in
            guard let bytes = try t.get(.datasets, StoreKey.dataset(id)) else { return nil }
            return try DatasetRecord(json: try parse(bytes, "datasets/\(id)"), what: "\(path) datasets/\(id)")
        }
    }

    /// Every dataset with its id, in id order.
    public func datasets() throws -> [(id: DatasetID, record: DatasetRecord)] {
        try environment.read { t in
            var out: [(DatasetID, DatasetRecord)] = []
            try t.forEach(.datasets, prefix: []) { k, v in
                let id = DatasetID(raw: StoreKey.readBE(k, at: 0, as: UInt64.self))
                out.append((id, try DatasetRecord(json: try parse(Array(v), "datasets/\(id)"), what: "\(path) datasets/\(id)")))
                return true
            }
            return out
        }
    }

    /// The items of one split, in id order.
    public func items(ds: DatasetID, split: Split) throws -> [ItemRecord] {
        try environment.read { t in
            var out: [ItemRecord] = []
            try t.forEach(.items, prefix: StoreKey.itemGroup(ds, split)) { k, v in
                guard let item = ItemRecord(v) else {
                    throw StoreError("\(path): damaged item record \(hexString(k)); re-register the dataset")
                }
                out.append(item)
                return true
            }
            return out
        }
    }

    // MARK: subsets

    /// Stores a named subset (e.g. "16shot-s1") of a split as a sorted, duplicate-free id list.
    public func putSubset(ds: DatasetID, split: Split, name: String, items: [UInt32]) throws {
        let sorted = Array(Set(items)).sorted()
        var value: [UInt8] = []
        value.reserveCapacity(4 + 4 * sorted.count)
        for x in [UInt32(sorted.count)] + sorted { withUnsafeBytes(of: x.littleEndian) { value += $0 } }
        let key = StoreKey.subset(ds, split, name)
        guard key.count <= 511 else { throw StoreError("\(path): subset name '\(name)' is too long (max 502 bytes)") }
        try environment.write { t in try t.put(.subsets, key, value) }
    }

    /// The sorted item ids of a named subset, or nil.
    public func subset(ds: DatasetID, split: Split, name: String) throws -> [UInt32]? {
        try environment.read { t in
            guard let v = try t.get(.subsets, StoreKey.subset(ds, split, name)) else { return nil }
            return v.withUnsafeBytes { p in
                let n = Int(UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
                return (0..<n).map { UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 + 4 * $0, as: UInt32.self)) }
            }
        }
    }

    /// Names of the subsets of a split.
    public func subsetNames(ds: DatasetID, split: Split) throws -> [String] {
        try environment.read { t in
            var out: [String] = []
            try t.forEach(.subsets, prefix: StoreKey.itemGroup(ds, split)) { k, _ in
                out.append(String(decoding: k[9...], as: UTF8.self))
                return true
            }
            return out
        }
    }

    // MARK: jobs and failures

    /// Progress record of the (ext, ds, split) indexing job, or nil if none ran.
    public func job(ext: ExtractorID, ds: DatasetID, split: Split) throws -> JobRecord? {
        try environment.read { t in try readJob(t, ext: ext, ds: ds, split: split) }
    }

    func readJob(_ t: Transaction, ext: ExtractorID, ds: DatasetID, split: Split) throws -> JobRecord? {
        guard let bytes = try t.get(.jobs, StoreKey.group(ext, ds, split)) else { return nil }
        let what = "\(path) jobs/\(ext)/\(ds)/\(split)"
        return try JobRecord(json: try parse(bytes, what), ext: ext, ds: ds, split: split, what: what)
    }

    /// Items that failed to index, in item order.
    public func failures(ext: ExtractorID, ds: DatasetID, split: Split) throws -> [FailureRecord] {
        try environment.read { t in
            var out: [FailureRecord] = []
            try t.forEach(.failures, prefix: StoreKey.group(ext, ds, split)) { k, v in
                let f = JSONFields(json: try parse(Array(v), "failures/\(hexString(k))"), what: "\(path) failures/\(hexString(k))")
                out.append(FailureRecord(item: StoreKey.readBE(k, at: StoreKey.itemOffset, as: UInt32.self),
                                         error: try f.string("error"), unixTime: try f.int("unix")))
                return true
            }
            return out
        }
    }

    // MARK: single features

    /// One stored feature vector with its stored norm.
    public struct StoredFeature {
        public var values: [Float]
        /// L2 norm of the vector as written (f32, before any f16 rounding).
        public var norm: Float
        public var dtype: FeatureDType
        public var wasNormalized: Bool
    }

    /// The feature (item, view), raw or L2-normalised; nil if absent. Verifies its checksum.
    public func feature(ext: ExtractorID, ds: DatasetID, split: Split, item: UInt32, view: ViewKey = .eval,
                        normalized: Bool = false) throws -> StoredFeature? {
        let key = StoreKey.feature(ext, ds, split, item: item, view: view)
        return try environment.read { t in
            try key.withUnsafeBytes { kb -> StoredFeature? in
                guard let v = try t.get(.feat, kb) else { return nil }
                if let problem = FeatureValue.problem(v) {
                    throw StoreError("\(path): \(problem) in feat key \(hexString(key)); run `cocoon store verify` and re-index the item")
                }
                let h = FeatureValue.header(v)!
                var values = [Float](repeating: 0, count: h.dim)
                values.withUnsafeMutableBufferPointer {
                    FeatureValue.decode(v, dim: h.dim, dtype: h.dtype, normalize: normalized, into: $0.baseAddress!)
                }
                return StoredFeature(values: values, norm: h.norm, dtype: h.dtype,
                                     wasNormalized: h.flags & FeatureValue.flagNormalized != 0)
            }
        }
    }

    func parse(_ bytes: [UInt8], _ what: String) throws -> JSON {
        guard let json = JSON.parse(bytes) else {
            throw StoreError("\(path): record \(what) is not valid JSON; the store is damaged, run `cocoon store verify`")
        }
        return json
    }
}
