import Hashing

#if canImport(Glibc)
import Glibc
#endif

/// The tuner's one source of randomness (context init, Meta-Net init, shuffling, view choice):
/// SplitMix64, deterministic from the run's seed and cheap to checkpoint (one word of state).
public struct TrainingRandom {
    private var generator: SplitMix64
    /// The whole generator state (saved in prompt checkpoints).
    public var state: UInt64 { generator.state }

    public init(seed: UInt64) { generator = SplitMix64(state: seed) }
    public init(state: UInt64) { generator = SplitMix64(state: state) }

    public mutating func next() -> UInt64 { generator.next() }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }

    /// Uniform integer in 0 ..< n (n > 0), without modulo bias.
    public mutating func below(_ n: Int) -> Int {
        let bound = UInt64(n)
        let limit = UInt64.max - UInt64.max % bound
        while true {
            let r = next()
            if r < limit { return Int(r % bound) }
        }
    }

    /// Standard normal (Box–Muller).
    public mutating func normal() -> Double {
        let u1 = max(uniform(), Double.leastNonzeroMagnitude), u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// Fisher–Yates shuffle.
    public mutating func shuffle<T>(_ a: inout [T]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, below(i + 1)) }
    }
}
