/// Why an image file could not be decoded; thrown by `ImageDecoder`. `description` is one line
/// naming the file, the reason and what to do about it.
public struct ImageDecodeError: Error, CustomStringConvertible, Sendable {
    public enum Reason: Sendable, Equatable {
        case unreadable(String)         // the file could not be read (I/O error text)
        case empty                      // zero bytes
        case unrecognisedFormat(String) // neither JPEG nor PNG magic bytes (hex of the first bytes)
        case truncated(String)          // data ended early (codec message)
        case corrupt(String)            // the codec rejected the data (codec message)
        case tooLarge(String)           // header declares more pixels than allowed
        case unsupported(String)        // a valid file using a feature we do not decode
        case outOfMemory(String)
    }

    public let file: String
    public let reason: Reason

    public init(file: String, reason: Reason) {
        self.file = file
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .unreadable(let why): return "\(file): cannot read the file (\(why)); check the path and permissions"
        case .empty: return "\(file): empty file (0 bytes); restore or remove the file"
        case .unrecognisedFormat(let head):
            return "\(file): not a JPEG or PNG file (starts with \(head)); convert it to JPEG/PNG or remove the file"
        case .truncated(let why): return "\(file): \(why); re-export or remove the file"
        case .corrupt(let why): return "\(file): \(why); re-export or remove the file"
        case .tooLarge(let why): return "\(file): \(why); downscale the file or raise the pixel limit"
        case .unsupported(let why): return "\(file): \(why); convert it to an 8-bit RGB JPEG or PNG"
        case .outOfMemory(let why): return "\(file): \(why); free memory or lower the pixel limit"
        }
    }
}
