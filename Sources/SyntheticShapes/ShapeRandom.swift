import Hashing

/// The generator's own pseudo-random stream (SplitMix64): identical numbers on every machine, no
/// platform RNG. Every rendered image gets its own stream keyed by (seed, stream tag, index), so
/// images can be generated in any order or in parallel with the same bytes. Used by `ShapeScene`,
/// `ShapeCaptioner` and the texture/noise code of `ShapeRenderer`.
public struct ShapeRandom {
    private var generator: SplitMix64

    /// A stream from a raw 64-bit state.
    public init(state: UInt64) {
        generator = SplitMix64(state: state)
    }

    /// The stream of image `index` of the image family `stream` (corpus, a dataset split, …) under `seed`.
    public init(seed: UInt64, stream: UInt64, index: UInt64) {
        var key = ShapeRandom(state: seed)
        let a = key.next() ^ (stream &* 0xD1B5_4A32_D192_ED03)
        var mixed = ShapeRandom(state: a)
        generator = SplitMix64(state: mixed.next() ^ (index &* 0x9E37_79B9_7F4A_7C15))
    }

    /// Next 64 random bits (SplitMix64).
    public mutating func next() -> UInt64 { generator.next() }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func uniform() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Uniform in [low, high).
    public mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * uniform()
    }

    /// Uniform integer in 0..<count (count ≥ 1; multiply-shift, bias < 2⁻³²).
    public mutating func below(_ count: Int) -> Int {
        Int((UInt64(UInt32(truncatingIfNeeded: next() >> 32)) &* UInt64(count)) >> 32)
    }

    /// True with probability `p`.
    public mutating func chance(_ p: Double) -> Bool {
        uniform() < p
    }

    /// One element of a non-empty array, uniformly.
    public mutating func pick<T>(_ items: [T]) -> T {
        items[below(items.count)]
    }
}

/// Sine and cosine from a fixed polynomial (only +, −, ×, ÷ on Double), so rotated shapes and
/// texture directions are bit-identical on every platform, unlike libm's `sin`/`cos`.
enum PortableTrig {
    static let pi = 3.141592653589793

    /// (sin x, cos x) for any finite x: reduced to [−π, π], then halved twice and rebuilt with the
    /// double-angle formulas from Taylor series of degree 13 on [−π/4, π/4].
    static func sinCos(_ x: Double) -> (sin: Double, cos: Double) {
        var r = x - 2 * pi * (x / (2 * pi)).rounded()
        r *= 0.25
        let r2 = r * r
        var s = 1.0 / 6_227_020_800.0                     // 1/13!
        s = s * r2 - 1.0 / 39_916_800.0
        s = s * r2 + 1.0 / 362_880.0
        s = s * r2 - 1.0 / 5_040.0
        s = s * r2 + 1.0 / 120.0
        s = s * r2 - 1.0 / 6.0
        s = (s * r2 + 1.0) * r
        var c = 1.0 / 479_001_600.0                       // 1/12!
        c = c * r2 - 1.0 / 3_628_800.0
        c = c * r2 + 1.0 / 40_320.0
        c = c * r2 - 1.0 / 720.0
        c = c * r2 + 1.0 / 24.0
        c = c * r2 - 0.5
        c = c * r2 + 1.0
        for _ in 0..<2 {
            (s, c) = (2 * s * c, c * c - s * s)
        }
        return (s, c)
    }
}
