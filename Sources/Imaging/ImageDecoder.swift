import CImageCodec
import Foundation

/// Decodes JPEG and PNG files to `RGBImage`, pixel-exact with Pillow's
/// `Image.open(f).convert("RGB")` (the CoOp/Dassl `read_image`). The format is detected from the
/// magic bytes, never the extension. Used by Indexing (dataset images) and tests.
public enum ImageDecoder {
    /// Default decompression-bomb limit: twice Pillow's `MAX_IMAGE_PIXELS` (89,478,485), the
    /// size at which Pillow raises instead of warning. Checked from the header before allocating.
    public static let defaultMaxPixels = 178_956_970

    /// Reads and decodes `file`. Errors name the file (its path).
    public static func decode(file: URL, maxPixels: Int = defaultMaxPixels) throws -> RGBImage {
        let data: Data
        do {
            data = try Data(contentsOf: file)
        } catch {
            throw ImageDecodeError(file: file.path, reason: .unreadable(error.localizedDescription))
        }
        return try decode(data: data, name: file.path, maxPixels: maxPixels)
    }

    /// Decodes an in-memory JPEG or PNG; `name` identifies it in error messages.
    public static func decode(data: Data, name: String = "<memory>", maxPixels: Int = defaultMaxPixels) throws -> RGBImage {
        if data.isEmpty { throw ImageDecodeError(file: name, reason: .empty) }
        let format = ImageFormat(magic: data)
        guard format != .unknown else {
            let head = data.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
            throw ImageDecodeError(file: name, reason: .unrecognisedFormat(head))
        }
        var image = cic_image()
        let limit = UInt64(max(0, maxPixels))
        let status: cic_status = data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self).baseAddress!
            switch format {
            case .jpeg: return cic_decode_jpeg(bytes, raw.count, limit, &image)
            default: return cic_decode_png(bytes, raw.count, limit, &image)
            }
        }
        defer { cic_free(image.pixels) }
        guard status == CIC_OK else {
            let message = withUnsafeBytes(of: &image.message) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            throw ImageDecodeError(file: name, reason: reason(status, message))
        }
        let count = Int(image.width) * Int(image.height) * 3
        let pixels = [UInt8](UnsafeBufferPointer(start: image.pixels, count: count))
        return RGBImage(width: Int(image.width), height: Int(image.height), pixels: pixels)
    }

    private static func reason(_ status: cic_status, _ message: String) -> ImageDecodeError.Reason {
        switch status {
        case CIC_ERR_TRUNCATED: return .truncated(message)
        case CIC_ERR_TOO_LARGE: return .tooLarge(message)
        case CIC_ERR_UNSUPPORTED: return .unsupported(message)
        case CIC_ERR_NO_MEMORY: return .outOfMemory(message)
        default: return .corrupt(message)
        }
    }
}

/// Container format recognised from the first bytes of a file.
enum ImageFormat {
    case jpeg, png, unknown

    init(magic data: Data) {
        let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF]
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        if data.starts(with: png) {
            self = .png
        } else if data.starts(with: jpeg) {
            self = .jpeg
        } else {
            self = .unknown
        }
    }
}
