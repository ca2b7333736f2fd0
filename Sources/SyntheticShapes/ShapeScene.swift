/// Everything that determines one synthetic picture: what is drawn (shape, colour, style) and how
/// (size, position, rotation, jittered colours, background). Sampled from a `ShapeRandom` stream by
/// `sample`; drawn by `ShapeRenderer`; described by `ShapeCaptioner`. Lengths are in pixels.
public struct ShapeScene: Sendable {
    public var shape: ShapeKind
    /// The shape's colour: the fill (plain, dark) or the outline (two-tone; which of the two names a
    /// class is up to the dataset, see `LabelConvention`).
    public var color: ShapeColor
    public var style: ShapeStyle
    /// Interior colour of a two-tone shape (≠ `color`); equals `color` for the other styles.
    public var interiorColor: ShapeColor
    public var background: BackgroundTexture
    /// Image side in pixels (square images).
    public var imageSize: Int
    /// Bounding radius of the shape in pixels and its centre.
    public var radius: Double
    public var centerX: Double
    public var centerY: Double
    /// Rotation in radians (|θ| ≤ 20°).
    public var rotation: Double
    /// Jittered colours in 0…1: `color` and interior colour.
    public var rgb: (Double, Double, Double)
    public var interiorRGB: (Double, Double, Double)
    /// Outline width in pixels (two-tone only).
    public var outlineWidth: Double
    /// Picture brightness multiplier (< 1 for `dark`).
    public var brightness: Double
    /// Background: grey level and per-channel tint (0…1), texture strength, period (px) and direction.
    public var backgroundRGB: (Double, Double, Double)
    public var textureAmplitude: Double
    public var texturePeriod: Double
    public var textureAngle: Double
    /// Sensor noise amplitude (uniform ±, in 0…1 units) added to every channel of every pixel.
    public var grain: Double = 0.015
    /// Seed of the per-pixel noise (background noise texture and sensor noise).
    public var noiseSeed: UInt64

    /// Two-tone outline width: `radius · U(fractionLow, fractionHigh)`, at least `minimum` pixels.
    public struct OutlineWidth: Sendable, Equatable {
        public var minimum: Double
        public var fractionLow: Double
        public var fractionHigh: Double

        public init(minimum: Double, fractionLow: Double, fractionHigh: Double) {
            self.minimum = minimum
            self.fractionLow = fractionLow
            self.fractionHigh = fractionHigh
        }

        /// The corpus's outlines (≈ 1.25–2.8 px at 64 px).
        public static let pretraining = OutlineWidth(minimum: 1.25, fractionLow: 0.06, fractionHigh: 0.10)
    }

    /// Radius range as a fraction of the image side; "small"/"large" below/above the thresholds.
    public static let radiusRange = (0.26, 0.44)
    static let smallBelow = 0.31
    static let largeAbove = 0.39

    /// "small", "large" or nil (medium sizes are not mentioned in captions).
    public var sizeWord: String? {
        let fraction = radius / Double(imageSize)
        if fraction < Self.smallBelow { return "small" }
        if fraction > Self.largeAbove { return "large" }
        return nil
    }

    /// Draws a scene. `shape`, `color` and `background` are sampled uniformly and `style` as plain,
    /// dark, two-tone with probabilities 0.58, 0.12, 0.30, unless fixed by the caller; a two-tone
    /// interior is `interior` when given (and `color` then another colour), else any other colour.
    public static func sample(_ random: inout ShapeRandom, imageSize: Int = 64,
                              shape fixedShape: ShapeKind? = nil, color fixedColor: ShapeColor? = nil,
                              style fixedStyle: ShapeStyle? = nil, background fixedBackground: BackgroundTexture? = nil,
                              interior fixedInterior: ShapeColor? = nil,
                              outline: OutlineWidth = .pretraining) -> ShapeScene {
        let shape = fixedShape ?? random.pick(ShapeKind.allCases)
        let color = fixedColor ?? random.pick(ShapeColor.allCases.filter { $0 != fixedInterior })
        let style: ShapeStyle
        if let fixedStyle {
            style = fixedStyle
        } else {
            let u = random.uniform()
            style = u < 0.58 ? .plain : (u < 0.58 + 0.12 ? .dark : .twoTone)
        }
        let background = fixedBackground ?? random.pick(BackgroundTexture.allCases)
        let others = ShapeColor.allCases.filter { $0 != color }
        let interior = style == .twoTone ? (fixedInterior ?? random.pick(others)) : color

        let side = Double(imageSize)
        let radius = side * random.uniform(radiusRange.0, radiusRange.1)
        let margin = radius + 1
        let centerX = random.uniform(margin, max(margin, side - margin))
        let centerY = random.uniform(margin, max(margin, side - margin))
        let rotation = random.uniform(-20, 20) * PortableTrig.pi / 180

        func jittered(_ c: ShapeColor, _ random: inout ShapeRandom) -> (Double, Double, Double) {
            let base = c.rgb
            func channel(_ v: Double, _ random: inout ShapeRandom) -> Double {
                min(255, max(0, v + random.uniform(-22, 22))) / 255
            }
            return (channel(base.r, &random), channel(base.g, &random), channel(base.b, &random))
        }
        let rgb = jittered(color, &random)
        let interiorRGB = style == .twoTone ? jittered(interior, &random) : rgb
        let outlineWidth = max(outline.minimum, radius * random.uniform(outline.fractionLow, outline.fractionHigh))
        let brightness = style == .dark ? random.uniform(0.35, 0.55) : 1.0

        let grey = random.uniform(0.30, 0.72)
        let backgroundRGB = (grey + random.uniform(-0.04, 0.04), grey + random.uniform(-0.04, 0.04), grey + random.uniform(-0.04, 0.04))
        let amplitude: Double
        switch background {
        case .plain: amplitude = 0
        case .noise: amplitude = random.uniform(0.04, 0.08)
        case .stripes, .checker: amplitude = random.uniform(0.04, 0.08)
        case .gradient: amplitude = random.uniform(0.08, 0.15)
        }
        let period = random.uniform(5, 12)
        let angle = random.uniform(0, PortableTrig.pi)
        return ShapeScene(shape: shape, color: color, style: style, interiorColor: interior, background: background,
                          imageSize: imageSize, radius: radius, centerX: centerX, centerY: centerY, rotation: rotation,
                          rgb: rgb, interiorRGB: interiorRGB, outlineWidth: outlineWidth, brightness: brightness,
                          backgroundRGB: backgroundRGB, textureAmplitude: amplitude, texturePeriod: period,
                          textureAngle: angle, noiseSeed: random.next())
    }
}
