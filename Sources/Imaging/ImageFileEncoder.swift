import CImageCodec
import Foundation

/// The file formats `ImageFileEncoder` writes.
public enum ImageFileFormat: Sendable, Equatable, CustomStringConvertible {
    /// 8-bit RGB PNG, lossless (libpng, default compression).
    case png
    /// Baseline JPEG, 4:2:0 chroma, `quality` 1...100 (libjpeg).
    case jpeg(quality: Int)

    public var fileExtension: String {
        switch self { case .png: return "png"; case .jpeg: return "jpg" }
    }

    public var description: String {
        switch self { case .png: return "PNG"; case .jpeg(let quality): return "JPEG (quality \(quality))" }
    }
}

/// Writes `RGBImage`s as PNG or JPEG files. Used by the synthetic demo dataset,
/// `cocoon bench encode` (JPEG inputs, as a photo dataset has) and tests.
public enum ImageFileEncoder {
    /// The file bytes of `image` in `format`.
    public static func encode(_ image: RGBImage, as format: ImageFileFormat = .png) throws -> Data {
        var bytes: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        var message = [CChar](repeating: 0, count: Int(CIC_MESSAGE_CAPACITY))
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            message.withUnsafeMutableBufferPointer { text in
                switch format {
                case .png:
                    return cic_encode_png(pixels.baseAddress, Int32(image.width), Int32(image.height), &bytes, &size, text.baseAddress)
                case .jpeg(let quality):
                    return cic_encode_jpeg(pixels.baseAddress, Int32(image.width), Int32(image.height), Int32(clamping: quality),
                                           &bytes, &size, text.baseAddress)
                }
            }
        }
        defer { cic_free(bytes) }
        guard status == CIC_OK, let bytes else {
            throw ImageEncodeError(file: "<memory>", reason: String(cString: message))
        }
        return Data(bytes: bytes, count: size)
    }

    /// Encodes `image` and writes it to `url` (atomically).
    public static func write(_ image: RGBImage, to url: URL, as format: ImageFileFormat = .png) throws {
        let data: Data
        do {
            data = try encode(image, as: format)
        } catch let error as ImageEncodeError {
            throw ImageEncodeError(file: url.path, reason: error.reason)
        }
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw ImageEncodeError(file: url.path, reason: "cannot write (\(error.localizedDescription)); check the directory exists and is writable")
        }
    }
}

/// An image that could not be encoded or written; `description` is one line naming the file.
public struct ImageEncodeError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let reason: String
    public var description: String { "\(file): \(reason)" }
}
