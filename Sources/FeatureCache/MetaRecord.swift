import CLMDB
import Foundation

/// The `meta` sub-database's "schema" record: which schema wrote the store. Read at every open;
/// a store of another version is refused before anything else is touched.
struct MetaRecord {
    static let key = Array("schema".utf8)
    var schema: Int
    var creator: String

    static var current: MetaRecord { MetaRecord(schema: StoreSchema.version, creator: StoreSchema.creator) }

    var json: JSON {
        .object([
            "schema": .int(schema),
            "key_version": .int(Int(StoreSchema.keyVersion)),
            "value_version": .int(Int(StoreSchema.valueVersion)),
            "endian": .string("little (values), big (keys)"),
            "creator": .string(creator),
            "lmdb": .string(String(cString: mdb_version(nil, nil, nil))),
        ])
    }

    func write(_ t: Transaction) throws { try t.put(.meta, MetaRecord.key, json.canonical) }

    /// Reads the record and refuses any schema but `StoreSchema.version`.
    static func check(_ t: Transaction) throws {
        let path = t.environment.path
        guard let bytes = try t.get(.meta, key) else {
            throw StoreError("\(path): not a cocoon store (no meta record); point --store at a cocoon store directory")
        }
        guard let json = JSON.parse(bytes), let schema = json["schema"]?.int else {
            throw StoreError("\(path): not a cocoon store (meta record unreadable); point --store at a cocoon store directory")
        }
        guard schema == StoreSchema.version else {
            let fix = schema > StoreSchema.version
                ? "use a cocoon release that reads version \(schema)"
                : "upgrade it in place with `cocoon store upgrade \(path)`"
            throw StoreError("\(path): schema version \(schema), this cocoon reads version \(StoreSchema.version); \(fix)")
        }
    }
}
