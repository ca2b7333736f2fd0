/// A one-line, user-facing error from loading a CLIP model directory (missing or mis-shaped tensor,
/// config that disagrees with the weights, unsupported option); the message names the file and key.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
