import DatasetNames
import Foundation
import Hashing

/// What `FeatureStore.upgrade(path:)` did.
public struct UpgradeReport {
    /// The schema the store had when the upgrade started (2: only leftovers were cleaned).
    public var fromSchema: Int
    /// Schema-1 extractors folded into schema-2 extractors, and recipes created.
    public var extractors: [(old: ExtractorID, new: ExtractorID, recipe: RecipeID?)] = []
    /// Features rewritten under schema-2 keys.
    public var features = 0
    /// View-0 features stored by two schema-1 extractors of one model with different bits (kept:
    /// the first, in extractor id order); schema 1 let a feature depend on its batch slot.
    public var differingDuplicates = 0
}

/// Phases of an upgrade, for tests that stop it part-way as a crash would.
enum UpgradePhase: Int, Comparable {
    case copy = 1, flip, cleanup
    static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

extension FeatureStore {
    /// Upgrades the schema-1 store at `path` to schema 2 in place (`cocoon store upgrade`), safe
    /// against a crash at any point:
    /// 1. **copy** (many transactions): every schema-1 feature is written again under its
    ///    schema-2 key (version byte 2, so schema-1 readers never see them); the store stays a
    ///    complete schema-1 store;
    /// 2. **flip** (one transaction): extractors, recipes, jobs, failures and numerics records are
    ///    rewritten and the meta record says schema 2 — from this commit on the store is a
    ///    complete schema-2 store;
    /// 3. **cleanup** (many transactions): the schema-1 feature keys are deleted (schema-2 readers
    ///    skip them meanwhile; `store verify` names them).
    /// Running it again after a crash finishes the job. Schema 1 put the augmentation into the
    /// extractor id; each schema-1 extractor becomes the schema-2 extractor of its model and
    /// preprocessing, and its augmented views a recipe (policy and seed) under it.
    @discardableResult
    public static func upgrade(path: String) throws -> UpgradeReport { try upgrade(path: path, stoppingAfter: .cleanup) }

    /// `upgrade(path:)` stopped after `last` (tests stop it part-way, as a crash would).
    @discardableResult
    static func upgrade(path: String, stoppingAfter last: UpgradePhase) throws -> UpgradeReport {
        let env = try EnvironmentRegistry.acquire(path: path, create: false, initialMapSize: 64 << 30, maxMapSize: 1 << 44)
        defer { EnvironmentRegistry.release(env) }
        let lock = try IndexerLock(storePath: env.path)
        defer { withExtendedLifetime(lock) {} }
        let schema: Int = try env.read { t in
            guard let bytes = try t.get(.meta, MetaRecord.key), let s = JSON.parse(bytes)?["schema"]?.int else {
                throw StoreError("\(env.path): not a cocoon store (meta record unreadable); point it at a cocoon store directory")
            }
            return s
        }
        var report = UpgradeReport(fromSchema: schema)
        switch schema {
        case 1:
            let plan = try V1Plan(env)
            report.extractors = plan.mapping.map { ($0.key, $0.value.ext, $0.value.recipe) }.sorted { $0.old < $1.old }
            (report.features, report.differingDuplicates) = try copyFeatures(env, plan)
            if last == .copy { return report }
            try flip(env, plan)
            if last == .flip { return report }
        case StoreSchema.version:
            break
        default:
            throw StoreError("\(env.path): schema version \(schema); `store upgrade` upgrades version 1 to \(StoreSchema.version)")
        }
        try deleteVersion1Features(env)
        return report
    }

    /// The schema-1 records and what each becomes.
    private struct V1Plan {
        struct Target { var ext: ExtractorID; var record: ExtractorRecord; var recipe: RecipeID?; var recipeRecord: RecipeRecord? }
        var mapping: [ExtractorID: Target] = [:]

        init(_ env: LMDBEnvironment) throws {
            try env.read { t in
                try t.forEach(.extractors, prefix: []) { k, v in
                    guard k.count == 8, let json = JSON.parse(Array(v)) else {
                        throw StoreError("\(env.path): extractor record \(hexString(k)) is unreadable; run `cocoon store verify` with the cocoon that wrote the store")
                    }
                    let what = "\(env.path) extractors/\(hexString(k))"
                    let f = JSONFields(json: json, what: what), augmentation = try f.object("augmentation")
                    let record = ExtractorRecord(modelName: try f.string("model_name"), modelFingerprint: try f.string("model_fingerprint"),
                                                 architecture: try f.string("architecture"), embedDim: try f.int("embed_dim"),
                                                 preprocessing: try f.string("preprocessing"), codeVersion: try f.string("code_version"))
                    // Schema 1 wrote "<policy> on train items of fewshot:…" for a restricted scope:
                    // the scope is not part of a recipe (the stored views say which items have them).
                    let policy = try augmentation.string("policy").components(separatedBy: " on train items of ")[0]
                    let views = try augmentation.int("views")
                    let recipe = views > 0 && policy != "none" ? RecipeRecord(policy: policy, seed: try augmentation.int("seed")) : nil
                    let old = ExtractorID(raw: StoreKey.readBE(k, at: 0, as: UInt64.self))
                    mapping[old] = Target(ext: record.id, record: record, recipe: recipe?.id, recipeRecord: recipe)
                    return true
                }
            }
        }

        func target(_ key: UnsafeRawBufferPointer, path: String) throws -> Target {
            let old = ExtractorID(raw: StoreKey.readBE(key, at: 1, as: UInt64.self))
            guard let target = mapping[old] else {
                throw StoreError("\(path): schema-1 key \(hexString(key)) names extractor \(old), which has no record; run `cocoon store verify` with the cocoon that wrote the store")
            }
            return target
        }
    }

    /// Phase 1: schema-2 copies of every schema-1 feature, 4,096 per transaction (idempotent).
    private static func copyFeatures(_ env: LMDBEnvironment, _ plan: V1Plan) throws -> (Int, Int) {
        var copied = 0, differing = 0
        var start: [UInt8] = [1]
        while true {
            // Read a batch of schema-1 entries (24-byte keys), then write their schema-2 keys.
            var batch: [([UInt8], [UInt8])] = []
            var next: [UInt8]?
            try env.read { t in
                try t.forEach(.feat, prefix: [1], from: start) { k, v in
                    if batch.count == 4096 { next = Array(k); return false }
                    guard k.count == 24 else {
                        throw StoreError("\(env.path): schema-1 feat key \(hexString(k)) is malformed; run `cocoon store verify` with the cocoon that wrote the store")
                    }
                    let target = try plan.target(k, path: env.path)
                    let view = StoreKey.readBE(k, at: 22, as: UInt16.self)
                    let viewKey = view == 0 ? ViewKey.eval : ViewKey(recipe: target.recipe ?? .eval, view: view)
                    let split = Split(rawValue: k[17]) ?? .train
                    let key = StoreKey.feature(target.ext, DatasetID(raw: StoreKey.readBE(k, at: 9, as: UInt64.self)), split,
                                               item: StoreKey.readBE(k, at: 18, as: UInt32.self), view: viewKey)
                    batch.append((key, Array(v)))
                    return true
                }
            }
            if batch.isEmpty { break }
            var written = 0, skipped = 0
            try env.write { t in
                written = 0; skipped = 0
                for (k, v) in batch {
                    if let existing = try t.get(.feat, k) {
                        if existing != v { skipped += 1 }
                        continue
                    }
                    try t.put(.feat, k, v)
                    written += 1
                }
            }
            copied += written
            differing += skipped
            guard let next else { break }
            start = next
        }
        return (copied, differing)
    }

    /// Phase 2, one transaction: the records of schema 2 and the meta record.
    private static func flip(_ env: LMDBEnvironment, _ plan: V1Plan) throws {
        try env.write { t in
            // Extractors and recipes.
            for (old, target) in plan.mapping {
                try t.delete(.extractors, StoreKey.extractor(old))
                try t.put(.extractors, StoreKey.extractor(target.ext), target.record.json.canonical)
                if let recipe = target.recipe, let record = target.recipeRecord {
                    try t.put(.recipes, StoreKey.recipe(recipe), record.json.canonical)
                }
            }
            // Failures and jobs: keys start with the schema-1 group (version 1, ext, ds, split).
            for db in [SubDB.failures, .jobs] {
                var entries: [([UInt8], [UInt8])] = []
                try t.forEach(db, prefix: [1]) { k, v in entries.append((Array(k), Array(v))); return true }
                for (k, v) in entries {
                    let target = try k.withUnsafeBytes { try plan.target($0, path: env.path) }
                    var key: [UInt8] = [StoreSchema.keyVersion]
                    StoreKey.appendBE(target.ext.raw, to: &key)
                    key += k[9...]
                    try t.delete(db, k)
                    // A failure of one schema-1 extractor is void where the other stored the item.
                    if db == .failures, try t.get(.feat, key + Array(repeating: 0, count: 6)) != nil { continue }
                    var value = v
                    if db == .jobs, let json = JSON.parse(v), case .object(var fields) = json {
                        // Schema-2 job fields: the recipe and K replace views per item.
                        let views = fields["views_per_item"]?.int ?? 1
                        fields["views_per_item"] = nil
                        fields["ext_id"] = .string(target.ext.description)
                        fields["recipe"] = .string(views > 1 ? target.recipe?.description ?? "" : "")
                        fields["augmented_views"] = .int(max(0, views - 1))
                        // Several schema-1 jobs of one group fold into one: counts add, "running" wins.
                        if let existing = try t.get(.jobs, key), let merged = JSON.parse(existing), case .object(let kept) = merged {
                            if kept["status"]?.string == "running" { fields["status"] = .string("running") }
                            for count in ["features", "failures"] {
                                fields[count] = .int((fields[count]?.int ?? 0) + (kept[count]?.int ?? 0))
                            }
                        }
                        value = JSON.object(fields).canonical
                    }
                    try t.put(db, key, value)
                }
            }
            // Numerics records are keyed by the extractor id.
            var numerics: [([UInt8], [UInt8])] = []
            try t.forEach(.meta, prefix: NumericsRecord.prefix) { k, v in numerics.append((Array(k), Array(v))); return true }
            for (k, v) in numerics {
                guard let old = ExtractorID(hex: String(decoding: k[NumericsRecord.prefix.count...], as: UTF8.self)),
                      let target = plan.mapping[old] else { continue }
                if let other = try t.get(.meta, NumericsRecord.key(target.ext)), other != v {
                    throw StoreError("\(env.path): the schema-1 extractors of \(target.record.modelName) were indexed with different BLAS kernels (\(String(decoding: other, as: UTF8.self)) and \(String(decoding: v, as: UTF8.self))); their features cannot share one extractor, re-index into a new store")
                }
                try t.delete(.meta, k)
                try t.put(.meta, NumericsRecord.key(target.ext), v)
            }
            guard case .object(var meta) = MetaRecord.current.json else { return }
            meta["migrated_from"] = .int(1)
            try t.put(.meta, MetaRecord.key, JSON.object(meta).canonical)
        }
    }

    /// Phase 3: deletes the schema-1 feature keys, 4,096 per transaction.
    private static func deleteVersion1Features(_ env: LMDBEnvironment) throws {
        while true {
            var keys: [[UInt8]] = []
            try env.read { t in
                try t.forEach(.feat, prefix: [1]) { k, _ in keys.append(Array(k)); return keys.count < 4096 }
            }
            if keys.isEmpty { return }
            try env.write { t in for k in keys { try t.delete(.feat, k) } }
        }
    }
}
