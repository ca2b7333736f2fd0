import Foundation

/// The one error type of the `Datasets` module: a single line naming the file or key at fault and
/// the fix. Thrown by the readers, the catalog, the few-shot loader and `Dataset.init`.
public struct DatasetError: Error, CustomStringConvertible, LocalizedError, Equatable {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
    public var errorDescription: String? { message }
}
