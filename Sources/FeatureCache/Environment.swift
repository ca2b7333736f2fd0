import CLMDB
import Foundation

/// The named sub-databases of a store (layout: cache-schema/SCHEMA.md).
enum SubDB: Int, CaseIterable {
    case meta, models, extractors, datasets, items, subsets, feat, failures, jobs, recipes
    /// The sub-database name in the LMDB main database.
    var name: String {
        ["meta", "models", "extractors", "datasets", "items", "subsets", "feat", "failures", "jobs", "recipes"][rawValue]
    }
}

/// One open LMDB environment (one store directory). There is at most one per canonical path in a
/// process (`EnvironmentRegistry`): opening an environment twice and closing one copy would drop
/// the other's fcntl locks.
///
/// Threading rules this type enforces:
/// - read transactions use `MDB_NOTLS`, so any thread may run `read`, concurrently;
/// - a write transaction begins and ends inside one synchronous `write` call (the closure cannot
///   `await`), so it never crosses threads; `write` calls are serialised by a process-wide mutex;
/// - growing the map needs no transaction open in this process: every transaction holds the shared
///   side of `gate`, the resize takes the exclusive side (py-lmdb #379: resizing under a reader crashes).
final class LMDBEnvironment {
    let path: String
    let env: OpaquePointer
    /// DBI handles indexed by `SubDB.rawValue`; set once at open, read-only afterwards.
    fileprivate(set) var dbis: [MDB_dbi] = []
    let maxMapSize: Int
    fileprivate var references = 0
    private var closed = false
    private let gate: UnsafeMutablePointer<pthread_rwlock_t>
    private let writeMutex = NSLock()

    fileprivate init(path: String, env: OpaquePointer, maxMapSize: Int) {
        self.path = path
        self.env = env
        self.maxMapSize = maxMapSize
        gate = .allocate(capacity: 1)
        var attr = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attr)
        // Writer preference: a pending resize is not starved by a stream of scans.
        pthread_rwlockattr_setkind_np(&attr, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        pthread_rwlock_init(gate, &attr)
        pthread_rwlockattr_destroy(&attr)
    }

    /// Closes the environment; called by the registry under its lock when the last user leaves.
    fileprivate func close() {
        if !closed { mdb_env_close(env) }
        closed = true
    }

    deinit {
        if !closed { mdb_env_close(env) }
        pthread_rwlock_destroy(gate)
        gate.deallocate()
    }

    /// Current map size in bytes.
    var mapSize: Int {
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        return info.me_mapsize
    }

    /// Runs `body` in a read-only (`MDB_NOTLS`) transaction; any thread, concurrently with writes.
    func read<T>(_ body: (Transaction) throws -> T) throws -> T {
        while true {
            pthread_rwlock_rdlock(gate)
            var txn: OpaquePointer?
            let rc = mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn)
            if rc == MDB_MAP_RESIZED {
                pthread_rwlock_unlock(gate)
                try adoptForeignMapSize()
                continue
            }
            guard rc == 0, let txn else {
                pthread_rwlock_unlock(gate)
                throw StoreError.lmdb(rc, "begin read transaction", path: path)
            }
            defer {
                mdb_txn_abort(txn)
                pthread_rwlock_unlock(gate)
            }
            return try body(Transaction(txn: txn, environment: self))
        }
    }

    /// Runs `body` in a write transaction and commits it. On `MDB_MAP_FULL` (from a put or the
    /// commit) the transaction is aborted, the map doubled and `body` run again from the start —
    /// so `body` must only replay buffered data, never consume it.
    func write<T>(_ body: (Transaction) throws -> T) throws -> T {
        writeMutex.lock()
        defer { writeMutex.unlock() }
        while true {
            pthread_rwlock_rdlock(gate)
            let sizeAtBegin = mapSize
            var txn: OpaquePointer?
            var rc = mdb_txn_begin(env, nil, 0, &txn)
            if rc == MDB_MAP_RESIZED {
                pthread_rwlock_unlock(gate)
                try adoptForeignMapSize()
                continue
            }
            guard rc == 0, let txn else {
                pthread_rwlock_unlock(gate)
                throw StoreError.lmdb(rc, "begin write transaction", path: path)
            }
            let result: T
            do {
                result = try body(Transaction(txn: txn, environment: self))
            } catch is MapFullSignal {
                mdb_txn_abort(txn)
                pthread_rwlock_unlock(gate)
                try grow(from: sizeAtBegin)
                continue
            } catch {
                mdb_txn_abort(txn)
                pthread_rwlock_unlock(gate)
                throw error
            }
            rc = mdb_txn_commit(txn)  // frees txn whatever the outcome
            pthread_rwlock_unlock(gate)
            if rc == 0 { return result }
            if rc == MDB_MAP_FULL { try grow(from: sizeAtBegin); continue }
            if let full = StoreError.diskFull(rc, path: path) { throw full }
            throw StoreError.lmdb(rc, "commit", path: path)
        }
    }

    /// Doubles the map unless another thread already grew it past `seen`.
    private func grow(from seen: Int) throws {
        pthread_rwlock_wrlock(gate)
        defer { pthread_rwlock_unlock(gate) }
        let current = mapSize
        if current > seen { return }
        let next = current * 2
        guard next <= maxMapSize else {
            throw StoreError("\(path): map full at \(mib(current)) and the limit is \(mib(maxMapSize)); raise the maximum map size or free disk space")
        }
        let rc = mdb_env_set_mapsize(env, next)
        guard rc == 0 else {
            throw StoreError("\(path): map full at \(mib(current)) and cannot grow to \(mib(next)) (\(String(cString: mdb_strerror(rc))); disk full?)")
        }
    }

    /// Another process grew the map: adopt its size (`mdb_env_set_mapsize(env, 0)`).
    private func adoptForeignMapSize() throws {
        pthread_rwlock_wrlock(gate)
        defer { pthread_rwlock_unlock(gate) }
        let rc = mdb_env_set_mapsize(env, 0)
        guard rc == 0 else { throw StoreError.lmdb(rc, "adopt the map size grown by another process", path: path) }
    }
}

func mib(_ bytes: Int) -> String {
    bytes >= 1 << 30 ? "\(bytes >> 30) GiB" : bytes >= 1 << 20 ? "\(bytes >> 20) MiB" : "\(bytes >> 10) KiB"
}

/// Process-wide table of open environments keyed by canonical path, with reference counts:
/// a second `FeatureStore` on the same directory shares the first one's `MDB_env`, and the
/// environment is closed (under the table's lock) when the last user releases it.
enum EnvironmentRegistry {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var open: [String: LMDBEnvironment] = [:]

    /// Sub-databases per environment; schema 2 uses 10, the rest is headroom for additive changes.
    static let maxDBs: UInt32 = 16

    /// Opens (or shares) the environment in directory `path`, creating the directory if `create`.
    static func acquire(path: String, create: Bool, initialMapSize: Int, maxMapSize: Int) throws -> LMDBEnvironment {
        var isDir: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            guard create else {
                throw StoreError("\(path): no such store; create it with `cocoon index --store \(path)` or check the path")
            }
            do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
                throw StoreError("\(path): cannot create the store directory (\(error.localizedDescription)); check permissions")
            }
        } else if !isDir.boolValue {
            throw StoreError("\(path): not a directory; a store is a directory holding data.mdb and lock.mdb")
        }
        guard let real = realpath(path, nil) else {
            throw StoreError("\(path): cannot resolve the path; check permissions")
        }
        let canonical = String(cString: real)
        free(real)

        lock.lock()
        defer { lock.unlock() }
        if let env = open[canonical] {
            env.references += 1
            return env
        }
        var handle: OpaquePointer?
        var rc = mdb_env_create(&handle)
        guard rc == 0, let handle else { throw StoreError.lmdb(rc, "mdb_env_create", path: canonical) }
        mdb_env_set_maxdbs(handle, maxDBs)
        mdb_env_set_mapsize(handle, initialMapSize)
        // NOTLS: read transactions are not tied to threads. NOMETASYNC: the meta page is not
        // fsynced per commit; a system crash may undo the last commit, which resumable indexing
        // redoes. Never WRITEMAP (stray writes would corrupt the file; no mixing across processes).
        rc = mdb_env_open(handle, canonical, UInt32(MDB_NOTLS | MDB_NOMETASYNC), 0o664)
        guard rc == 0 else {
            mdb_env_close(handle)
            throw StoreError.lmdb(rc, "open the LMDB environment", path: canonical)
        }
        var dead: Int32 = 0
        mdb_reader_check(handle, &dead)  // free reader slots left by killed processes
        let env = LMDBEnvironment(path: canonical, env: handle, maxMapSize: max(maxMapSize, initialMapSize))
        env.dbis = try openDatabases(env, create: create)
        env.references = 1
        open[canonical] = env
        return env
    }

    /// Drops one reference; the last one closes the environment.
    static func release(_ env: LMDBEnvironment) {
        lock.lock()
        defer { lock.unlock() }
        env.references -= 1
        if env.references == 0 {
            open[env.path] = nil
            env.close()
        }
    }

    /// Opens every sub-database; creates them and the meta record in an empty environment when
    /// `create`. An environment without the `meta` sub-database is not a cocoon store. A store of
    /// an earlier schema lacks the sub-databases added since (`recipes` in version 2): they are
    /// created empty, so the version check (and `store upgrade`) can run on it.
    private static func openDatabases(_ env: LMDBEnvironment, create: Bool) throws -> [MDB_dbi] {
        enum Found { case store([MDB_dbi]), empty, foreign, lacking }
        var txn: OpaquePointer?
        let rc0 = mdb_txn_begin(env.env, nil, UInt32(MDB_RDONLY), &txn)
        guard rc0 == 0, let txn else { throw StoreError.lmdb(rc0, "begin read transaction", path: env.path) }
        let found: Found
        var meta: MDB_dbi = 0
        let rc = mdb_dbi_open(txn, SubDB.meta.name, 0, &meta)
        if rc == MDB_NOTFOUND {
            var main: MDB_dbi = 0
            mdb_dbi_open(txn, nil, 0, &main)
            var st = MDB_stat()
            mdb_stat(txn, main, &st)
            found = st.ms_entries == 0 ? .empty : .foreign
            mdb_txn_abort(txn)
        } else if rc != 0 {
            mdb_txn_abort(txn)
            throw StoreError.lmdb(rc, "open sub-database meta", path: env.path)
        } else {
            var dbis: [MDB_dbi] = []
            for db in SubDB.allCases {
                var dbi: MDB_dbi = 0
                guard mdb_dbi_open(txn, db.name, 0, &dbi) == 0 else { break }
                dbis.append(dbi)
            }
            // Handles opened in a read transaction become environment-wide only on commit.
            mdb_txn_commit(txn)
            found = dbis.count == SubDB.allCases.count ? .store(dbis) : .lacking
        }
        switch found {
        case .store(let dbis): return dbis
        case .lacking:
            return try createDatabases(env, writingMeta: false)
        case .foreign:
            throw StoreError("\(env.path): not a cocoon store (no meta record); point --store at a cocoon store directory or an empty one")
        case .empty:
            guard create else {
                throw StoreError("\(env.path): not a cocoon store (no meta record); create it with `cocoon index --store \(env.path)`")
            }
            return try createDatabases(env, writingMeta: true)
        }
    }

    /// Opens every sub-database, creating the missing ones (and the meta record of a new store).
    private static func createDatabases(_ env: LMDBEnvironment, writingMeta: Bool) throws -> [MDB_dbi] {
        try env.write { t in
            var dbis: [MDB_dbi] = []
            for db in SubDB.allCases {
                var dbi: MDB_dbi = 0
                let rc = mdb_dbi_open(t.txn, db.name, UInt32(MDB_CREATE), &dbi)
                if rc == MDB_MAP_FULL { throw MapFullSignal() }
                guard rc == 0 else { throw StoreError.lmdb(rc, "create sub-database \(db.name)", path: env.path) }
                dbis.append(dbi)
            }
            env.dbis = dbis
            if writingMeta { try MetaRecord.current.write(t) }
            return dbis
        }
    }
}
