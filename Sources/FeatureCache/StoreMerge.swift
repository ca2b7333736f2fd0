import CLMDB
import Foundation
import Hashing

/// Entries copied by `FeatureStore.merge(from:)`, per sub-database name.
public struct MergeReport {
    /// New entries written into the destination.
    public var copied: [String: Int] = [:]
    /// Entries already present with identical bytes (e.g. a repeated merge).
    public var identical: [String: Int] = [:]
}

extension FeatureStore {
    /// Copies every model, extractor, recipe, dataset, item, subset, feature, failure and numerics record
    /// of `source` (a shard store) into this store. Refuses, before writing anything, when a model
    /// name maps to different fingerprints in the two stores or an extractor's features were
    /// computed with other BLAS kernels (`NumericsRecord`); refuses any key present in both with different
    /// bytes, and any corrupt source feature. Job records are per shard and are not copied.
    /// Takes this store's indexer lock. Commits every 4,096 entries (replayed if the map grows).
    @discardableResult
    public func merge(from source: FeatureStore) throws -> MergeReport {
        guard source.path != path else { throw StoreError("\(path): cannot merge a store into itself; pass a shard store") }
        let lock = try IndexerLock(storePath: path)
        defer { withExtendedLifetime(lock) {} }
        try checkMergeable(source)

        var report = MergeReport()
        var batch = MergeBatch()
        for db in [SubDB.models, .extractors, .recipes, .datasets, .items, .subsets, .feat, .failures, .meta] {
            try source.environment.read { t in
                try t.forEach(db, prefix: db == .meta ? NumericsRecord.prefix : []) { k, v in
                    if db == .feat, let problem = FeatureValue.problem(v) {
                        throw StoreError("\(source.path): \(problem) in feat key \(hexString(k)); run `cocoon store verify` on the shard and re-index it before merging")
                    }
                    batch.append(db, k, v)
                    if batch.count >= 4096 || batch.bytes >= 32 << 20 { try flush(&batch, from: source, into: &report) }
                    return true
                }
            }
        }
        try flush(&batch, from: source, into: &report)
        return report
    }

    /// Model names with different fingerprints (and, defensively, extractor ids with different
    /// records) make the stores unmergeable.
    private func checkMergeable(_ source: FeatureStore) throws {
        var mine: [String: String] = [:]
        try environment.read { t in
            try t.forEach(.models, prefix: []) { k, v in
                let name = String(decoding: k, as: UTF8.self)
                mine[name] = try ModelRecord(json: try parse(Array(v), "models/\(name)"), what: "\(path) models/\(name)").fingerprint
                return true
            }
        }
        for (id, record) in try source.extractors() {
            if let fingerprint = mine[record.modelName], fingerprint != record.modelFingerprint {
                throw StoreError("\(path): cannot merge \(source.path): model '\(record.modelName)' has fingerprint \(fingerprint.prefix(16))… here but \(record.modelFingerprint.prefix(16))… in the shard (different weights or preprocessing); merge only shards indexed with the same model")
            }
            if let existing = try extractor(id), existing != record {
                throw StoreError("\(path): cannot merge \(source.path): extractor id \(id) names different records in the two stores; re-index the shard")
            }
            if let here = try numerics(id), let there = try source.numerics(id), here != there {
                throw StoreError("\(path): cannot merge \(source.path): extractor \(id)'s features were computed with \(here.summary) here but \(there.summary) in the shard, so their bits differ; re-index the shard with OPENBLAS_CORETYPE=\(here.kernels)")
            }
        }
    }

    private func flush(_ batch: inout MergeBatch, from source: FeatureStore, into report: inout MergeReport) throws {
        guard batch.count > 0 else { return }
        // Computed inside the (replayable) transaction, applied only after it commits.
        var copied: [String: Int] = [:], identical: [String: Int] = [:]
        try environment.write { t in
            copied = [:]; identical = [:]
            try batch.keys.withUnsafeBytes { keys in
                try batch.values.withUnsafeBytes { values in
                    for e in batch.entries {
                        let k = UnsafeRawBufferPointer(rebasing: keys[e.key])
                        let v = UnsafeRawBufferPointer(rebasing: values[e.value])
                        if let existing = try t.get(e.db, k) {
                            guard existing.elementsEqual(v) else {
                                throw StoreError("\(path): cannot merge \(source.path): \(e.db.name) key \(hexString(k)) differs between the stores (overlapping shards?); merge disjoint shards only")
                            }
                            identical[e.db.name, default: 0] += 1
                        } else {
                            try t.put(e.db, k, v, flags: UInt32(MDB_NOOVERWRITE))
                            copied[e.db.name, default: 0] += 1
                        }
                    }
                }
            }
        }
        report.copied.merge(copied, uniquingKeysWith: +)
        report.identical.merge(identical, uniquingKeysWith: +)
        batch = MergeBatch()
    }
}

/// Entries buffered for one merge transaction: keys and values in two byte arenas.
private struct MergeBatch {
    var keys: [UInt8] = []
    var values: [UInt8] = []
    var entries: [(db: SubDB, key: Range<Int>, value: Range<Int>)] = []
    var count: Int { entries.count }
    var bytes: Int { values.count }

    mutating func append(_ db: SubDB, _ k: UnsafeRawBufferPointer, _ v: UnsafeRawBufferPointer) {
        let k0 = keys.count, v0 = values.count
        keys.append(contentsOf: k)
        values.append(contentsOf: v)
        entries.append((db, k0..<keys.count, v0..<values.count))
    }
}
