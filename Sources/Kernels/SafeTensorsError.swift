/// A one-line, user-facing error from reading or writing a safetensors file; the message names the
/// file and, where there is one, the tensor key. Thrown by `SafeTensorsFile` and `SafeTensorsWriter`.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
