import CLMDB
import Foundation
import XCTest
@testable import FeatureCache

final class SchemaVersionTests: XCTestCase {
    /// The code's constant and cache-schema/VERSION cannot drift apart.
    func testVersionConstantEqualsVersionFile() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("cache-schema/VERSION")
        let text = try String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(text, String(StoreSchema.version))
        XCTAssertEqual(StoreSchema.version, 2)
    }

    /// Patches the meta record with plain LMDB calls (no cocoon code) while no handle is open.
    private func rawPut(path: String, db: String?, key: String, value: String) {
        var env: OpaquePointer?
        XCTAssertEqual(mdb_env_create(&env), 0)
        mdb_env_set_maxdbs(env, 16)
        XCTAssertEqual(mdb_env_open(env, path, 0, 0o664), 0)
        var txn: OpaquePointer?
        XCTAssertEqual(mdb_txn_begin(env, nil, 0, &txn), 0)
        var dbi: MDB_dbi = 0
        XCTAssertEqual(mdb_dbi_open(txn, db, UInt32(MDB_CREATE), &dbi), 0)
        var k = Array(key.utf8), v = Array(value.utf8)
        k.withUnsafeMutableBytes { kb in
            v.withUnsafeMutableBytes { vb in
                var kv = MDB_val(mv_size: kb.count, mv_data: kb.baseAddress)
                var vv = MDB_val(mv_size: vb.count, mv_data: vb.baseAddress)
                XCTAssertEqual(mdb_put(txn, dbi, &kv, &vv, 0), 0)
            }
        }
        XCTAssertEqual(mdb_txn_commit(txn), 0)
        mdb_env_close(env)
    }

    func testStoreOfAnotherVersionIsRefused() throws {
        let path = temporaryStorePath(self)
        do {
            let store = try FeatureStore(path: path, options: .init(create: true))
            try writeSample(store, items: 0..<3)
        }  // last handle gone: the environment is closed
        rawPut(path: path, db: "meta", key: "schema",
               value: #"{"creator":"cocoon 9","endian":"little (values), big (keys)","key_version":3,"schema":3,"value_version":1}"#)
        let canonical = String(cString: realpath(path, nil))
        let message = assertStoreError("schema version 3") { _ = try FeatureStore(path: path) }
        XCTAssertEqual(message, "\(canonical): schema version 3, this cocoon reads version 2; use a cocoon release that reads version 3")
        // The refused open left no environment behind: a fresh open sees the same refusal.
        assertStoreError("schema version 3, this cocoon reads version 2") { _ = try FeatureStore(path: path) }
    }

    func testForeignAndMissingStoresAreRefused() throws {
        let path = temporaryStorePath(self)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        rawPut(path: path, db: nil, key: "something", value: "else")
        assertStoreError("not a cocoon store (no meta record)") { _ = try FeatureStore(path: path, options: .init(create: true)) }
        assertStoreError("no such store") { _ = try FeatureStore(path: path + "-missing") }
        let empty = temporaryStorePath(self)
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        assertStoreError("not a cocoon store (no meta record); create it with `cocoon index") { _ = try FeatureStore(path: empty) }
    }
}
