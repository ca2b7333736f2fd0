import Foundation

/// Exclusive per-store writer lock: `flock(LOCK_EX|LOCK_NB)` on `<store>/cocoon.lock`, holding the
/// owner's pid. LMDB already serialises write transactions, but two indexers interleaving batches
/// of one job would fight over its progress record; the second one refuses up front instead.
/// flock locks belong to the open file, so a second lock in the same process is refused too.
/// Released on deinit (and by the kernel if the process dies).
public final class IndexerLock {
    public let path: String
    private let fd: Int32

    /// Takes the lock of the store directory `storePath`, or throws naming the holder's pid.
    public init(storePath: String) throws {
        path = (storePath as NSString).appendingPathComponent("cocoon.lock")
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o664)
        guard fd >= 0 else {
            throw StoreError("\(storePath): cannot open \(path) (\(String(cString: strerror(errno)))); check permissions")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let err = errno
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buffer, buffer.count, 0)
            close(fd)
            guard err == EWOULDBLOCK else {
                throw StoreError("\(storePath): cannot lock \(path) (\(String(cString: strerror(err)))); is the store on NFS? use a local disk")
            }
            let pid = String(decoding: buffer.prefix(max(n, 0)), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw StoreError("\(storePath): another cocoon index (pid \(pid.isEmpty ? "unknown" : pid)) is writing to this store; wait for it or use --shard with a separate store")
        }
        self.fd = fd
        let text = Array("\(getpid())\n".utf8)
        ftruncate(fd, 0)
        _ = pwrite(fd, text, text.count, 0)
    }

    deinit {
        ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
    }
}
