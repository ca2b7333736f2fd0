/// SplitMix64 (Steele, Lea & Flood): a 64-bit counter advanced by the golden-ratio increment and
/// passed through a bijective avalanche finaliser. cocoon's one seeded stream generator and
/// 64-bit mixer: training randomness, the synthetic world's images and the seeding of view
/// augmentations all build on it, so their numbers are identical on every machine.
public struct SplitMix64 {
    public private(set) var state: UInt64

    public init(state: UInt64) { self.state = state }

    /// The next 64 random bits.
    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// The finaliser alone: a bijective avalanche of 64 bits (a good 64-bit hash of a counter).
    @inline(__always)
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
