import CImageCodec
import Foundation

/// Writes `RGBImage`s as 8-bit RGB PNG files (libpng, default compression). Used by the
/// synthetic demo dataset and tests.
public enum PNGEncoder {
    /// The PNG file bytes of `image`.
    public static func encode(_ image: RGBImage) throws -> Data {
        var png: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        var message = [CChar](repeating: 0, count: Int(CIC_MESSAGE_CAPACITY))
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            message.withUnsafeMutableBufferPointer { text in
                cic_encode_png(pixels.baseAddress, Int32(image.width), Int32(image.height), &png, &size, text.baseAddress)
            }
        }
        defer { cic_free(png) }
        guard status == CIC_OK, let png else {
            throw PNGEncodeError(file: "<memory>", reason: String(cString: message))
        }
        return Data(bytes: png, count: size)
    }

    /// Encodes `image` and writes it to `url` (atomically).
    public static func write(_ image: RGBImage, to url: URL) throws {
        let data: Data
        do {
            data = try encode(image)
        } catch let error as PNGEncodeError {
            throw PNGEncodeError(file: url.path, reason: error.reason)
        }
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw PNGEncodeError(file: url.path, reason: "cannot write (\(error.localizedDescription)); check the directory exists and is writable")
        }
    }
}

/// A PNG that could not be encoded or written; `description` is one line naming the file.
public struct PNGEncodeError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let reason: String
    public var description: String { "\(file): \(reason)" }
}
