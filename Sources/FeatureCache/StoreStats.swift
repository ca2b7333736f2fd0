import DatasetNames
import Foundation

/// Summary of a store for `cocoon query stats`: sizes and one line per extractor × dataset × split.
public struct StoreStats {
    /// Counts of one (extractor, dataset, split) group.
    public struct Group {
        public var ext: ExtractorID
        public var ds: DatasetID
        public var split: Split
        public var modelName: String
        public var datasetName: String
        public var features: Int
        /// Distinct items with at least one feature.
        public var items: Int
        /// Augmented views stored per recipe.
        public var recipeViews: [RecipeID: Int]
        public var dtype: FeatureDType?
        public var dim: Int
        /// Bytes of the stored values (header + payload).
        public var valueBytes: Int
        public var failures: Int
        /// Job status ("running", "complete") or "" when no job record exists.
        public var jobStatus: String
    }

    public var schemaVersion: Int
    public var mapSize: Int
    /// Size of data.mdb on disk (allocated pages; the file never shrinks).
    public var fileBytes: Int
    public var groups: [Group]
}

extension FeatureStore {
    /// Walks every key of `feat` and `failures` once and summarises per group.
    public func stats() throws -> StoreStats {
        let extractors = Dictionary(uniqueKeysWithValues: try self.extractors().map { ($0.id, $0.record) })
        let datasets = Dictionary(uniqueKeysWithValues: try self.datasets().map { ($0.id, $0.record) })
        var groups: [StoreStats.Group] = []
        var index: [[UInt8]: Int] = [:]
        func group(_ k: UnsafeRawBufferPointer) -> Int? {
            guard k.count >= StoreKey.groupLength, let split = Split(rawValue: k[17]) else { return nil }
            let g = Array(k[0..<StoreKey.groupLength])
            if let i = index[g] { return i }
            let ext = ExtractorID(raw: StoreKey.readBE(k, at: 1, as: UInt64.self))
            let ds = DatasetID(raw: StoreKey.readBE(k, at: 9, as: UInt64.self))
            groups.append(StoreStats.Group(ext: ext, ds: ds, split: split,
                                           modelName: extractors[ext]?.modelName ?? "?", datasetName: datasets[ds]?.name ?? "?",
                                           features: 0, items: 0, recipeViews: [:], dtype: nil, dim: 0, valueBytes: 0,
                                           failures: 0, jobStatus: ""))
            index[g] = groups.count - 1
            return groups.count - 1
        }
        try environment.read { t in
            var lastItem: (Int, UInt32)? = nil
            try t.forEach(.feat, prefix: []) { k, v in
                guard k.count == StoreKey.featureLength, let i = group(k) else { return true }
                groups[i].features += 1
                groups[i].valueBytes += v.count
                let recipe = StoreKey.viewKey(k).recipe
                if recipe != .eval { groups[i].recipeViews[recipe, default: 0] += 1 }
                let item = StoreKey.readBE(k, at: StoreKey.itemOffset, as: UInt32.self)
                if lastItem == nil || lastItem! != (i, item) { groups[i].items += 1 }
                lastItem = (i, item)
                if groups[i].dtype == nil, let h = FeatureValue.header(v) { groups[i].dtype = h.dtype; groups[i].dim = h.dim }
                return true
            }
            try t.forEach(.failures, prefix: []) { k, _ in
                if let i = group(k) { groups[i].failures += 1 }
                return true
            }
            for i in groups.indices {
                groups[i].jobStatus = (try readJob(t, ext: groups[i].ext, ds: groups[i].ds, split: groups[i].split))?.status ?? ""
            }
        }
        let attributes = try? FileManager.default.attributesOfItem(atPath: (path as NSString).appendingPathComponent("data.mdb"))
        return StoreStats(schemaVersion: StoreSchema.version, mapSize: mapSize,
                          fileBytes: (attributes?[.size] as? NSNumber)?.intValue ?? 0, groups: groups)
    }
}
