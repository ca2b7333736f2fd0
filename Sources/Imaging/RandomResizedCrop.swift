import Foundation

/// A crop rectangle in pixels: top-left `(x, y)` and size. Produced by `RandomResizedCrop`.
public struct CropBox: Equatable, Sendable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }
}

/// torchvision's `RandomResizedCrop.get_params` geometry, drawn from `ViewRandom` (the rules are
/// torchvision's; the random numbers are not torch's). Used by `Preprocess.trainView`.
public enum RandomResizedCrop {
    /// CoOp's defaults: scale (0.08, 1), ratio (3/4, 4/3). Tip-Adapter and LP++ train with
    /// scale (0.5, 1) (`cocoon index --crop-scale 0.5`).
    public static let defaultScale: ClosedRange<Double> = 0.08...1.0
    public static let defaultRatio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0)

    /// Up to 10 attempts: area = uniform(scale) * W * H, aspect = exp(uniform(log ratio)),
    /// w = round(sqrt(area * aspect)), h = round(sqrt(area / aspect)) (halves to even); accept if
    /// 0 < w <= W and 0 < h <= H, then y = randint(0, H - h), x = randint(0, W - w).
    /// Otherwise the centre crop of the whole image with its aspect clamped to `ratio`.
    /// `usedFallback` tells which path was taken.
    public static func box(width: Int, height: Int, scale: ClosedRange<Double> = defaultScale,
                           ratio: ClosedRange<Double> = defaultRatio,
                           random: inout ViewRandom) -> (box: CropBox, usedFallback: Bool) {
        let area = Double(width * height)
        let logLow = log(ratio.lowerBound), logHigh = log(ratio.upperBound)
        for _ in 0..<10 {
            let targetArea = area * random.uniform(scale.lowerBound, scale.upperBound)
            let aspect = exp(random.uniform(logLow, logHigh))
            let w = Int((targetArea * aspect).squareRoot().rounded(.toNearestOrEven))
            let h = Int((targetArea / aspect).squareRoot().rounded(.toNearestOrEven))
            if w > 0 && w <= width && h > 0 && h <= height {
                let y = random.integer(through: height - h)
                let x = random.integer(through: width - w)
                return (CropBox(x: x, y: y, width: w, height: h), false)
            }
        }
        let inRatio = Double(width) / Double(height)
        var w = width, h = height
        if inRatio < ratio.lowerBound {
            h = Int((Double(w) / ratio.lowerBound).rounded(.toNearestOrEven))
        } else if inRatio > ratio.upperBound {
            w = Int((Double(h) * ratio.upperBound).rounded(.toNearestOrEven))
        }
        return (CropBox(x: (width - w) / 2, y: (height - h) / 2, width: w, height: h), true)
    }
}
