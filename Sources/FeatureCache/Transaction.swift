import CLMDB
import Foundation

/// Signal thrown out of a write-transaction body when LMDB reports `MDB_MAP_FULL`;
/// `LMDBEnvironment.write` catches it, aborts, grows the map and replays the body.
struct MapFullSignal: Error {}

/// One LMDB transaction (read or write), valid only inside the `read`/`write` closure of
/// `LMDBEnvironment` that created it. Byte buffers it returns point into the memory map and are
/// valid only until that closure returns; they are 2-byte aligned at best, so read them with
/// `loadUnaligned` or copy them.
struct Transaction {
    let txn: OpaquePointer
    let environment: LMDBEnvironment

    func dbi(_ db: SubDB) -> MDB_dbi { environment.dbis[db.rawValue] }

    /// The value stored under `key`, or nil.
    func get(_ db: SubDB, _ key: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer? {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val()
        let rc = mdb_get(txn, dbi(db), &k, &v)
        if rc == MDB_NOTFOUND { return nil }
        guard rc == 0 else { throw StoreError.lmdb(rc, "read from \(db.name)", path: environment.path) }
        return UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
    }

    func get(_ db: SubDB, _ key: [UInt8]) throws -> [UInt8]? {
        try key.withUnsafeBytes { k in try get(db, k).map { Array($0) } }
    }

    /// Raw `mdb_put`: returns the LMDB code (`MDB_KEYEXIST` is the caller's business);
    /// `MDB_MAP_FULL` becomes `MapFullSignal` so that the write can be replayed on a larger map.
    func putCode(_ db: SubDB, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer,
                 flags: UInt32 = 0) throws -> Int32 {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        let rc = mdb_put(txn, dbi(db), &k, &v, flags)
        if rc == MDB_MAP_FULL { throw MapFullSignal() }
        return rc
    }

    func put(_ db: SubDB, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, flags: UInt32 = 0) throws {
        let rc = try putCode(db, key, value, flags: flags)
        guard rc == 0 else { throw StoreError.lmdb(rc, "write to \(db.name)", path: environment.path) }
    }

    func put(_ db: SubDB, _ key: [UInt8], _ value: [UInt8]) throws {
        try key.withUnsafeBytes { k in try value.withUnsafeBytes { v in try put(db, k, v) } }
    }

    /// Deletes `key`; a missing key is not an error.
    func delete(_ db: SubDB, _ key: [UInt8]) throws {
        var rc: Int32 = 0
        key.withUnsafeBytes { kb in
            var k = MDB_val(mv_size: kb.count, mv_data: UnsafeMutableRawPointer(mutating: kb.baseAddress))
            rc = mdb_del(txn, dbi(db), &k, nil)
        }
        if rc == MDB_MAP_FULL { throw MapFullSignal() }
        guard rc == 0 || rc == MDB_NOTFOUND else {
            throw StoreError.lmdb(rc, "delete from \(db.name)", path: environment.path)
        }
    }

    /// Calls `body(key, value)` for every entry whose key starts with `prefix`, in key order
    /// (`MDB_SET_RANGE` then `MDB_NEXT`), from the first key ≥ `start` (default: `prefix`);
    /// `body` returns false to stop early.
    func forEach(_ db: SubDB, prefix: [UInt8], from start: [UInt8]? = nil,
                 _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws {
        var cursor: OpaquePointer?
        let rc0 = mdb_cursor_open(txn, dbi(db), &cursor)
        guard rc0 == 0, let cursor else { throw StoreError.lmdb(rc0, "cursor on \(db.name)", path: environment.path) }
        defer { mdb_cursor_close(cursor) }
        let seek = start ?? prefix
        try prefix.withUnsafeBytes { p in try seek.withUnsafeBytes { s in
            var k = MDB_val(mv_size: s.count, mv_data: UnsafeMutableRawPointer(mutating: s.baseAddress))
            var v = MDB_val()
            var rc = s.count == 0 ? mdb_cursor_get(cursor, &k, &v, MDB_FIRST)
                                  : mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE)
            while rc == 0 {
                let key = UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size)
                if key.count < p.count || memcmp(key.baseAddress!, p.baseAddress!, p.count) != 0 { return }
                if try !body(key, UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)) { return }
                rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)
            }
            guard rc == MDB_NOTFOUND else { throw StoreError.lmdb(rc, "cursor walk of \(db.name)", path: environment.path) }
        } }
    }

    /// The last key of `db`, or nil when it is empty.
    func lastKey(_ db: SubDB) throws -> [UInt8]? {
        var cursor: OpaquePointer?
        let rc0 = mdb_cursor_open(txn, dbi(db), &cursor)
        guard rc0 == 0, let cursor else { throw StoreError.lmdb(rc0, "cursor on \(db.name)", path: environment.path) }
        defer { mdb_cursor_close(cursor) }
        var k = MDB_val(), v = MDB_val()
        let rc = mdb_cursor_get(cursor, &k, &v, MDB_LAST)
        if rc == MDB_NOTFOUND { return nil }
        guard rc == 0 else { throw StoreError.lmdb(rc, "cursor on \(db.name)", path: environment.path) }
        return Array(UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size))
    }
}
