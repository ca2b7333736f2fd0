import Hashing

/// xoshiro256** (Blackman & Vigna), seeded by expanding one `UInt64` with SplitMix64.
/// The random source of training views (`Preprocess.trainView`); deterministic per seed.
public struct ViewRandom {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    public init(seed: UInt64) {
        var expand = SplitMix64(state: seed)
        s0 = expand.next()
        s1 = expand.next()
        s2 = expand.next()
        s3 = expand.next()
    }

    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform in [low, high).
    public mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * uniform()
    }

    /// Uniform integer in 0...upper (inclusive), unbiased (rejection sampling).
    public mutating func integer(through upper: Int) -> Int {
        precondition(upper >= 0)
        let range = UInt64(upper) &+ 1
        if range == 0 { return Int(bitPattern: UInt(next())) }
        let limit = UInt64.max - UInt64.max % range  // accept draws below a multiple of range
        while true {
            let draw = next()
            if draw < limit { return Int(draw % range) }
        }
    }

    @inline(__always)
    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

/// Per-view seeds: `ViewSeed.make(seed:itemKey:view:)` hashes (run seed, item key, view index)
/// with 64-bit FNV-1a over their bytes (seed and view as 8 little-endian bytes each, then the
/// key's UTF-8), then applies SplitMix64's finaliser. Stable across runs, machines and shards,
/// so any worker can rebuild any view. Used by Indexing.
public enum ViewSeed {
    public static func make(seed: UInt64, itemKey: String, view: Int) -> UInt64 {
        var hash = FNV1a64()
        hash.feedLittleEndian(seed)
        hash.feedLittleEndian(UInt64(bitPattern: Int64(view)))
        hash.feed(itemKey.utf8)
        return SplitMix64.mix(hash.value)
    }
}
