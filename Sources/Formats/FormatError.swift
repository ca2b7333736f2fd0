/// A one-line, user-facing error from reading or writing a file format; the message names the
/// file and, where there is one, the tensor key. Thrown by `SafeTensorsFile`, `SafeTensorsWriter`
/// and `NPYWriter`.
public struct FormatError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
