/// Per-channel normalisation `(x / 255 - mean) / std` in Float32, as torchvision's ToTensor +
/// Normalize. `.clip` holds CLIP's constants; a model may carry its own. Used by `Preprocess`.
public struct Normalization: Equatable, Sendable {
    public var mean: SIMD3<Float>
    public var std: SIMD3<Float>

    public init(mean: SIMD3<Float>, std: SIMD3<Float>) {
        self.mean = mean
        self.std = std
    }

    public static let clip = Normalization(mean: SIMD3(0.48145466, 0.4578275, 0.40821073),
                                           std: SIMD3(0.26862954, 0.26130258, 0.27577711))
}

/// The image transforms of CoOp/CLIP on decoded RGB images, writing normalised Float32 CHW
/// tensors into caller memory. View 0 of an item is `clipEval`; views >= 1 are `trainView`s.
/// Used by Indexing.
public enum Preprocess {
    /// torchvision `Resize(n)` size rule: short side -> n, long side -> int(n * long / short).
    public static func shortSideSize(width: Int, height: Int, to n: Int) -> (width: Int, height: Int) {
        if width <= height {
            return (n, Int(Double(n * height) / Double(width)))
        }
        return (Int(Double(n * width) / Double(height)), n)
    }

    /// torchvision `CenterCrop(n)` origin: `int(round((side - n) / 2))`, halves to even.
    public static func centerCropOrigin(width: Int, height: Int, size n: Int) -> (x: Int, y: Int) {
        let x = (Double(width - n) / 2.0).rounded(.toNearestOrEven)
        let y = (Double(height - n) / 2.0).rounded(.toNearestOrEven)
        return (Int(x), Int(y))
    }

    /// Resize(n, BICUBIC) then CenterCrop(n): the n x n uint8 image of the test transform.
    public static func clipEvalPixels(_ image: RGBImage, size n: Int = 224) -> RGBImage {
        let target = shortSideSize(width: image.width, height: image.height, to: n)
        let resized = Resample.bicubic(image, width: target.width, height: target.height)
        let origin = centerCropOrigin(width: resized.width, height: resized.height, size: n)
        return resized.cropped(x: origin.x, y: origin.y, width: n, height: n)
    }

    /// CLIP/CoOp test transform into `out` ([3, n, n] Float32).
    public static func clipEval(_ image: RGBImage, size n: Int = 224, normalization: Normalization = .clip,
                                into out: UnsafeMutablePointer<Float>) {
        normalize(clipEvalPixels(image, size: n), normalization: normalization, into: out)
    }

    /// RandomResizedCrop(n, scale `cropScale` (CoOp's (0.08, 1) by default), ratio (3/4, 4/3))
    /// then horizontal flip with p = 0.5, drawn from `ViewRandom(seed: viewSeed)`: the n x n uint8
    /// training view.
    public static func trainViewPixels(_ image: RGBImage, size n: Int = 224,
                                       cropScale: ClosedRange<Double> = RandomResizedCrop.defaultScale,
                                       viewSeed: UInt64) -> RGBImage {
        var random = ViewRandom(seed: viewSeed)
        let crop = RandomResizedCrop.box(width: image.width, height: image.height, scale: cropScale, random: &random).box
        let patch = image.cropped(x: crop.x, y: crop.y, width: crop.width, height: crop.height)
        let view = Resample.bicubic(patch, width: n, height: n)
        return random.uniform() < 0.5 ? view.flippedHorizontally() : view
    }

    /// CoOp training transform (crop scale `cropScale`) into `out` ([3, n, n] Float32).
    public static func trainView(_ image: RGBImage, size n: Int = 224, normalization: Normalization = .clip,
                                 cropScale: ClosedRange<Double> = RandomResizedCrop.defaultScale,
                                 viewSeed: UInt64, into out: UnsafeMutablePointer<Float>) {
        normalize(trainViewPixels(image, size: n, cropScale: cropScale, viewSeed: viewSeed), normalization: normalization, into: out)
    }

    /// View `view` of an item: 0 is the eval transform, others are training views (crop scale
    /// `cropScale`) seeded by `ViewSeed.make(seed:itemKey:view:)`. Writes [3, n, n] Float32 into `out`.
    public static func view(_ image: RGBImage, view: Int, seed: UInt64, itemKey: String, size n: Int = 224,
                            normalization: Normalization = .clip,
                            cropScale: ClosedRange<Double> = RandomResizedCrop.defaultScale,
                            into out: UnsafeMutablePointer<Float>) {
        if view == 0 {
            clipEval(image, size: n, normalization: normalization, into: out)
        } else {
            let viewSeed = ViewSeed.make(seed: seed, itemKey: itemKey, view: view)
            trainView(image, size: n, normalization: normalization, cropScale: cropScale, viewSeed: viewSeed, into: out)
        }
    }

    /// ToTensor + Normalize: HWC uint8 -> CHW Float32 `(Float(v) / 255 - mean[c]) / std[c]`,
    /// each operation rounded to Float32 as torch does. `out` holds [3, height, width].
    public static func normalize(_ image: RGBImage, normalization: Normalization = .clip,
                                 into out: UnsafeMutablePointer<Float>) {
        // [3, 256] lookup table: the same three Float32 operations per channel and value.
        var table = [Float](repeating: 0, count: 3 * 256)
        for c in 0..<3 {
            for v in 0..<256 {
                table[c * 256 + v] = (Float(v) / 255 - normalization.mean[c]) / normalization.std[c]
            }
        }
        let plane = image.width * image.height
        image.pixels.withUnsafeBufferPointer { src in
            table.withUnsafeBufferPointer { lut in
                for c in 0..<3 {
                    let channel = out + c * plane
                    let row = lut.baseAddress! + c * 256
                    for i in 0..<plane {
                        channel[i] = row[Int(src[i * 3 + c])]
                    }
                }
            }
        }
    }
}
