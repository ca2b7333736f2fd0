import CLMDB
import XCTest

/// Puts a raw key/value into the database `db` (nil: the unnamed one) of the LMDB environment at
/// `path` with plain LMDB calls (no cocoon code), while no handle is open: how tests forge or
/// damage a store's records.
public func rawLMDBPut(path: String, db: String?, key: String, value: String) {
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
