import CLMDB
import Foundation

/// A one-line, user-facing error of the feature store: it names the store (or file, or key)
/// and says how to fix the problem. Every throwing function of `FeatureCache` throws this.
public struct StoreError: Error, CustomStringConvertible, LocalizedError {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }

    /// An LMDB return code as "STORE: <what> failed: <mdb_strerror> (code N)".
    static func lmdb(_ rc: Int32, _ what: String, path: String) -> StoreError {
        let text = String(cString: mdb_strerror(rc))
        return StoreError("\(path): \(what) failed: \(text) (code \(rc))")
    }

    /// The full-disk reading of a failed write: ENOSPC or EDQUOT, or the EIO LMDB reports for a
    /// short write, when the store's file system has less than 64 MiB left. nil for other failures.
    static func diskFull(_ rc: Int32, path: String) -> StoreError? {
        var fs = statvfs()
        let free: Int? = statvfs(path, &fs) == 0 ? Int(fs.f_bavail) * Int(fs.f_frsize) : nil
        guard rc == ENOSPC || rc == EDQUOT || (rc == EIO && (free ?? .max) < 64 << 20) else { return nil }
        let left = free.map { " (\(mib($0)) free)" } ?? ""
        return StoreError("no space left on the disk of \(path)\(left): free space and rerun to resume; everything committed before is kept")
    }
}
