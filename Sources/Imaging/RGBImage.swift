/// An 8-bit RGB image: the common currency of `Imaging` (decoder output, resize/crop input and
/// output, `ImageFileEncoder` input; used by Indexing and SyntheticShapes).
/// `pixels` is RGB8 interleaved, row-major, no padding: channel `c` of pixel `(x, y)` is at
/// `(y * width + x) * 3 + c`, so `pixels.count == width * height * 3`.
public struct RGBImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]  // [height, width, 3]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3,
                     "RGBImage: \(pixels.count) bytes do not hold \(width)x\(height) RGB pixels")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The sub-image with top-left corner `(x, y)`; the box must lie inside the image
    /// (Pillow's `crop` on an in-bounds box).
    public func cropped(x: Int, y: Int, width w: Int, height h: Int) -> RGBImage {
        precondition(x >= 0 && y >= 0 && w >= 0 && h >= 0 && x + w <= width && y + h <= height,
                     "crop box (\(x), \(y), \(w)x\(h)) outside a \(width)x\(height) image")
        var out = [UInt8](repeating: 0, count: w * h * 3)  // [h, w, 3]
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                let rowBytes = w * 3
                for row in 0..<h {
                    let from = src.baseAddress! + ((y + row) * width + x) * 3
                    (dst.baseAddress! + row * rowBytes).update(from: from, count: rowBytes)
                }
            }
        }
        return RGBImage(width: w, height: h, pixels: out)
    }

    /// The mirror image left-to-right (Pillow's `FLIP_LEFT_RIGHT`).
    public func flippedHorizontally() -> RGBImage {
        var out = [UInt8](repeating: 0, count: pixels.count)  // [height, width, 3]
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for row in 0..<height {
                    let s = src.baseAddress! + row * width * 3
                    let d = dst.baseAddress! + row * width * 3
                    for x in 0..<width {
                        let mirrored = (width - 1 - x) * 3
                        d[x * 3] = s[mirrored]
                        d[x * 3 + 1] = s[mirrored + 1]
                        d[x * 3 + 2] = s[mirrored + 2]
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}
