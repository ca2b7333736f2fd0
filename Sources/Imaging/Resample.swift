/// Pillow-exact resampling of `RGBImage`s (the algorithm of Pillow's `Resample.c` for 8-bit
/// images, `Image.resize(size, BICUBIC)` with no box and no reducing_gap, as torchvision's
/// PIL backend calls it). Used by `Preprocess`.
public enum Resample {
    /// Which separable pass runs first when both width and height change. The passes round to
    /// uint8 in between, so the order changes some pixels by a level or two.
    public enum PassOrder: Sendable {
        /// Pillow >= 13 (python-pillow/Pillow#9549): vertical first iff the height shrinks and
        /// `inHeight - height > 2 * (inWidth - width)`; otherwise horizontal first.
        case pillow13
        /// Pillow <= 12: always horizontal first (the environment of the original CLIP/CoOp runs).
        case horizontalFirst
    }

    /// Resizes to `width` x `height` with Pillow's antialiased bicubic filter (a = -0.5).
    /// A pass runs only along a dimension whose size changes; each pass rounds and clips to
    /// uint8, as Pillow does. Same size = copy.
    public static func bicubic(_ image: RGBImage, width: Int, height: Int,
                               passOrder: PassOrder = .pillow13) -> RGBImage {
        precondition(width > 0 && height > 0, "resize to an empty size \(width)x\(height)")
        let needHorizontal = width != image.width
        let needVertical = height != image.height
        if !needHorizontal && !needVertical { return image }

        if !needVertical {
            let horizontal = ResampleKernel(inSize: image.width, outSize: width)
            return horizontalPass(image, rows: 0..<image.height, kernel: horizontal)
        }
        let vertical = ResampleKernel(inSize: image.height, outSize: height)
        if !needHorizontal {
            return verticalPass(image, kernel: vertical, rowOffset: 0)
        }
        let horizontal = ResampleKernel(inSize: image.width, outSize: width)
        let verticalFirst = passOrder == .pillow13 && height < image.height
            && image.height - height > 2 * (image.width - width)
        if verticalFirst {
            let tall = verticalPass(image, kernel: vertical, rowOffset: 0)
            return horizontalPass(tall, rows: 0..<height, kernel: horizontal)
        }
        // Only the source rows the vertical pass will read: [first, last).
        let first = vertical.bounds[0]
        let last = vertical.bounds[2 * (height - 1)] + vertical.bounds[2 * (height - 1) + 1]
        let wide = horizontalPass(image, rows: first..<last, kernel: horizontal)
        return verticalPass(wide, kernel: vertical, rowOffset: first)
    }

    /// Rows `rows` of `image`, resampled along x: output [rows.count, kernel.outSize, 3].
    static func horizontalPass(_ image: RGBImage, rows: Range<Int>, kernel: ResampleKernel) -> RGBImage {
        let outWidth = kernel.outSize, ksize = kernel.size
        var out = [UInt8](repeating: 0, count: rows.count * outWidth * 3)
        image.pixels.withUnsafeBufferPointer { srcBuf in
        out.withUnsafeMutableBufferPointer { dstBuf in
        kernel.weights.withUnsafeBufferPointer { kk in
        kernel.bounds.withUnsafeBufferPointer { bounds in
            let src = srcBuf.baseAddress!, dst = dstBuf.baseAddress!
            for (yy, y) in rows.enumerated() {
                let row = src + y * image.width * 3
                let outRow = dst + yy * outWidth * 3
                for xx in 0..<outWidth {
                    let xmin = bounds[2 * xx], count = bounds[2 * xx + 1]
                    let k = kk.baseAddress! + xx * ksize
                    var s0 = roundingHalf, s1 = roundingHalf, s2 = roundingHalf
                    for x in 0..<count {
                        let p = row + (xmin + x) * 3
                        let w = k[x]
                        s0 &+= Int32(p[0]) &* w
                        s1 &+= Int32(p[1]) &* w
                        s2 &+= Int32(p[2]) &* w
                    }
                    outRow[xx * 3] = clip8(s0)
                    outRow[xx * 3 + 1] = clip8(s1)
                    outRow[xx * 3 + 2] = clip8(s2)
                }
            }
        }}}}
        return RGBImage(width: outWidth, height: rows.count, pixels: out)
    }

    /// `image` resampled along y; `kernel.bounds` index source rows, shifted by `-rowOffset`
    /// (the first row the horizontal pass kept). Output [kernel.outSize, image.width, 3].
    /// Each output row accumulates whole source rows (integer sums, so the order of the taps
    /// does not change the result) into `acc`, then clips.
    static func verticalPass(_ image: RGBImage, kernel: ResampleKernel, rowOffset: Int) -> RGBImage {
        let outHeight = kernel.outSize, ksize = kernel.size, rowBytes = image.width * 3
        var out = [UInt8](repeating: 0, count: outHeight * rowBytes)
        var acc = [Int32](repeating: 0, count: rowBytes)  // [width * 3]
        image.pixels.withUnsafeBufferPointer { srcBuf in
        out.withUnsafeMutableBufferPointer { dstBuf in
        acc.withUnsafeMutableBufferPointer { accBuf in
        kernel.weights.withUnsafeBufferPointer { kk in
        kernel.bounds.withUnsafeBufferPointer { bounds in
            let src = srcBuf.baseAddress!, dst = dstBuf.baseAddress!, sums = accBuf.baseAddress!
            for yy in 0..<outHeight {
                let ymin = bounds[2 * yy] - rowOffset, count = bounds[2 * yy + 1]
                let k = kk.baseAddress! + yy * ksize
                sums.update(repeating: roundingHalf, count: rowBytes)
                for y in 0..<count {
                    let row = src + (ymin + y) * rowBytes
                    let w = k[y]
                    for i in 0..<rowBytes { sums[i] &+= Int32(row[i]) &* w }
                }
                let outRow = dst + yy * rowBytes
                for i in 0..<rowBytes { outRow[i] = clip8(sums[i]) }
            }
        }}}}}
        return RGBImage(width: image.width, height: outHeight, pixels: out)
    }

    /// Fixed-point precision of the coefficients: 32 - 8 - 2 bits (8 for the pixel value,
    /// 2 for overshoot of the negative-lobed filter).
    static let precisionBits: Int32 = 22
    static let roundingHalf: Int32 = 1 << (precisionBits - 1)

    /// Pillow's clip8: the accumulator shifted down (arithmetic), clamped to 0...255.
    @inline(__always)
    static func clip8(_ sum: Int32) -> UInt8 {
        let v = sum >> precisionBits
        return v < 0 ? 0 : (v > 255 ? 255 : UInt8(v))
    }
}

/// The bicubic coefficients of one resampling direction (Pillow's `precompute_coeffs` +
/// `normalize_coeffs_8bpc` for the box [0, inSize)).
struct ResampleKernel {
    let outSize: Int
    /// Maximum taps per output sample: 2 * ceil(support) + 1.
    let size: Int
    /// [outSize, 2]: first source index and number of taps of each output sample.
    let bounds: [Int]
    /// [outSize, size]: weights in 22-bit fixed point, normalised to sum ~1, zero past the taps.
    let weights: [Int32]

    /// Pillow's bicubic convolution kernel with a = -0.5, support 2.
    static func bicubic(_ t: Double) -> Double {
        let a = -0.5
        let x = t < 0 ? -t : t
        if x < 1.0 { return ((a + 2.0) * x - (a + 3.0)) * x * x + 1 }
        if x < 2.0 { return (((x - 5) * x + 8) * x - 4) * a }
        return 0.0
    }

    init(inSize: Int, outSize: Int) {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let support = 2.0 * filterScale
        let ksize = Int(support.rounded(.up)) * 2 + 1
        var bounds = [Int](repeating: 0, count: outSize * 2)
        var weights = [Int32](repeating: 0, count: outSize * ksize)
        var taps = [Double](repeating: 0, count: ksize)
        let inverseScale = 1.0 / filterScale
        for xx in 0..<outSize {
            let center = (Double(xx) + 0.5) * scale
            let xmin = max(Int(center - support + 0.5), 0)        // C (int) truncation
            let xmax = min(Int(center + support + 0.5), inSize) - xmin
            var total = 0.0
            for x in 0..<xmax {
                let w = ResampleKernel.bicubic((Double(x + xmin) - center + 0.5) * inverseScale)
                taps[x] = w
                total += w
            }
            for x in 0..<xmax {
                let w = total != 0.0 ? taps[x] / total : taps[x]
                let fixed = w * Double(1 << 22)
                weights[xx * ksize + x] = Int32(w < 0 ? -0.5 + fixed : 0.5 + fixed)  // truncation toward 0
            }
            bounds[2 * xx] = xmin
            bounds[2 * xx + 1] = xmax
        }
        self.outSize = outSize
        self.size = ksize
        self.bounds = bounds
        self.weights = weights
    }
}
