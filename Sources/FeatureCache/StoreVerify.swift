import Foundation
import Hashing

/// Result of `FeatureStore.verify()`: how many values were checked and which are bad.
public struct VerifyReport {
    /// Feature values checked.
    public var checked: Int = 0
    /// Bad values (features, item records, JSON records) found.
    public var bad: Int = 0
    /// One line per bad value (the first 1,000), naming the sub-database and key.
    public var problems: [String] = []
    public var ok: Bool { bad == 0 }

    mutating func report(_ line: String) {
        bad += 1
        if problems.count < 1000 { problems.append(line) }
    }
}

extension FeatureStore {
    /// Re-checks every feature value (header, size, CRC-32C, dim against its extractor) and
    /// every item and JSON record, in one read transaction (`cocoon store verify`).
    public func verify() throws -> VerifyReport {
        try environment.read { t in
            var report = VerifyReport()
            var dims: [ExtractorID: Int] = [:]
            for db in [SubDB.models, .extractors, .recipes, .datasets, .jobs, .failures] {
                try t.forEach(db, prefix: []) { k, v in
                    if JSON.parse(Array(v)) == nil { report.report("\(db.name) key \(hexString(k)): not valid JSON") }
                    if db == .extractors, k.count == 8, let json = JSON.parse(Array(v)), let dim = json["embed_dim"]?.int {
                        dims[ExtractorID(raw: StoreKey.readBE(k, at: 0, as: UInt64.self))] = dim
                    }
                    return true
                }
            }
            try t.forEach(.items, prefix: []) { k, v in
                if k.count != 13 || ItemRecord(v) == nil { report.report("items key \(hexString(k)): malformed item record") }
                return true
            }
            try t.forEach(.feat, prefix: []) { k, v in
                report.checked += 1
                guard k.count == StoreKey.featureLength, k[0] == StoreSchema.keyVersion else {
                    report.report("feat key \(hexString(k)): malformed key" + (k.first == 1 ? " (a schema-1 key: finish the upgrade with `cocoon store upgrade`)" : ""))
                    return true
                }
                let recipe = RecipeID(raw: StoreKey.readBE(k, at: StoreKey.recipeOffset, as: UInt32.self))
                if recipe != .eval, try t.get(.recipes, StoreKey.recipe(recipe)) == nil {
                    report.report("feat key \(hexString(k)): recipe \(recipe) is not registered")
                }
                if let problem = FeatureValue.problem(v) {
                    report.report("\(problem) in feat key \(hexString(k))")
                    return true
                }
                let ext = ExtractorID(raw: StoreKey.readBE(k, at: 1, as: UInt64.self))
                let dim = FeatureValue.header(v)!.dim
                if let expected = dims[ext], expected != dim {
                    report.report("feat key \(hexString(k)): dim \(dim) but extractor \(ext) has \(expected)")
                } else if dims[ext] == nil {
                    report.report("feat key \(hexString(k)): extractor \(ext) is not registered")
                }
                return true
            }
            return report
        }
    }
}
