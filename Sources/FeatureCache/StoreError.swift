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
}
