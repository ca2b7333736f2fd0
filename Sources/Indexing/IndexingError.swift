/// A one-line, user-facing error of the index pipeline and the cache queries: it names the file,
/// store or option at fault and says how to fix it. Errors of the layers below (`DatasetError`,
/// `StoreError`, `CheckpointError`, `ImageDecodeError`) pass through unchanged.
public struct IndexingError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
