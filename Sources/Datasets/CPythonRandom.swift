import Foundation

/// CPython's `random.Random` (Mersenne Twister MT19937), reproduced draw for draw: `seed(int)`,
/// `getrandbits`, `random()`, `_randbelow`, `sample` and `shuffle` return what CPython returns for
/// the same seed and the same call sequence. Used by `FewShotSampler` (Dassl's
/// `generate_fewshot_dataset` calls `random.sample`) and by the split generators (`random.shuffle`).
///
/// Parity is limited to 64-bit integer seeds (CPython accepts any int) and to `getrandbits(k)` with
/// k ≤ 64, which covers every call CoOp makes.
public struct CPythonRandom {
    private static let n = 624
    private static let m = 397
    private static let matrixA: UInt32 = 0x9908_b0df
    private static let upperMask: UInt32 = 0x8000_0000
    private static let lowerMask: UInt32 = 0x7fff_ffff

    private var state = [UInt32](repeating: 0, count: CPythonRandom.n)
    private var index = CPythonRandom.n

    /// Same state as `random.seed(seed)`: MT19937 `init_by_array` over the 32-bit words of |seed|,
    /// least significant first (a zero seed gives the one-word key [0]).
    public init(seed: Int) {
        var magnitude = seed.magnitude
        var key: [UInt32] = []
        repeat {
            key.append(UInt32(truncatingIfNeeded: magnitude))
            magnitude >>= 32
        } while magnitude != 0
        initByArray(key)
    }

    private mutating func initGenrand(_ s: UInt32) {
        state[0] = s
        for i in 1..<Self.n {
            let prev = state[i - 1]
            state[i] = 1_812_433_253 &* (prev ^ (prev >> 30)) &+ UInt32(i)
        }
        index = Self.n
    }

    private mutating func initByArray(_ key: [UInt32]) {
        initGenrand(19_650_218)
        var i = 1
        var j = 0
        for _ in 0..<max(Self.n, key.count) {
            let prev = state[i - 1]
            state[i] = (state[i] ^ ((prev ^ (prev >> 30)) &* 1_664_525)) &+ key[j] &+ UInt32(j)
            i += 1
            j += 1
            if i >= Self.n { state[0] = state[Self.n - 1]; i = 1 }
            if j >= key.count { j = 0 }
        }
        for _ in 0..<(Self.n - 1) {
            let prev = state[i - 1]
            state[i] = (state[i] ^ ((prev ^ (prev >> 30)) &* 1_566_083_941)) &- UInt32(i)
            i += 1
            if i >= Self.n { state[0] = state[Self.n - 1]; i = 1 }
        }
        state[0] = 0x8000_0000
    }

    /// Refills the 624-word state (the "twist").
    private mutating func twist() {
        let n = Self.n, m = Self.m
        for k in 0..<n {
            let y = (state[k] & Self.upperMask) | (state[(k + 1) % n] & Self.lowerMask)
            state[k] = state[(k + m) % n] ^ (y >> 1) ^ ((y & 1) == 0 ? 0 : Self.matrixA)
        }
        index = 0
    }

    /// One tempered 32-bit output (`genrand_uint32`).
    public mutating func nextUInt32() -> UInt32 {
        if index >= Self.n { twist() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9d2c_5680
        y ^= (y << 15) & 0xefc6_0000
        y ^= y >> 18
        return y
    }

    /// `random.getrandbits(k)` for 0 ≤ k ≤ 64: 32-bit words least significant first, the last
    /// word keeping its top bits.
    public mutating func getrandbits(_ k: Int) -> UInt64 {
        precondition(k >= 0 && k <= 64, "getrandbits supports 0...64 bits")
        if k == 0 { return 0 }
        if k <= 32 { return UInt64(nextUInt32() >> UInt32(32 - k)) }
        let low = UInt64(nextUInt32())
        let high = UInt64(nextUInt32() >> UInt32(64 - k))
        return low | (high << 32)
    }

    /// `random.random()`: 53-bit float in [0, 1) from two outputs.
    public mutating func random() -> Double {
        let a = Double(nextUInt32() >> 5)
        let b = Double(nextUInt32() >> 6)
        return (a * 67_108_864.0 + b) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `random._randbelow(n)` (getrandbits-based rejection), n ≥ 1: uniform in 0..<n.
    public mutating func randbelow(_ n: Int) -> Int {
        precondition(n >= 1, "randbelow needs n >= 1")
        let k = Int.bitWidth - n.leadingZeroBitCount   // n.bit_length()
        var r = getrandbits(k)
        while r >= UInt64(n) { r = getrandbits(k) }
        return Int(r)
    }

    /// `random.sample(population, k)`: k distinct elements, in draw order. Uses CPython's pool
    /// branch when n ≤ setsize (setsize = 21, plus 4^ceil(log4(3k)) when k > 5) and its
    /// rejection-set branch otherwise; the two consume the generator differently.
    public mutating func sample<T>(_ population: [T], _ k: Int) -> [T] {
        sampleIndices(population.count, k).map { population[$0] }
    }

    /// `random.sample(range(n), k)`.
    public mutating func sampleIndices(_ n: Int, _ k: Int) -> [Int] {
        precondition(k >= 0 && k <= n, "sample larger than population or negative")
        var setsize = 21
        if k > 5 {
            let exponent = Int((log(Double(k * 3)) / log(4.0)).rounded(.up))
            setsize += 1 << (2 * exponent)
        }
        var result: [Int] = []
        result.reserveCapacity(k)
        if n <= setsize {
            var pool = Array(0..<n)
            for i in 0..<k {
                let j = randbelow(n - i)
                result.append(pool[j])
                pool[j] = pool[n - i - 1]
            }
        } else {
            var selected = Set<Int>()
            for _ in 0..<k {
                var j = randbelow(n)
                while selected.contains(j) { j = randbelow(n) }
                selected.insert(j)
                result.append(j)
            }
        }
        return result
    }

    /// `random.shuffle(x)` in place (Fisher–Yates from the end, j = randbelow(i + 1)).
    public mutating func shuffle<T>(_ x: inout [T]) {
        var i = x.count - 1
        while i >= 1 {
            let j = randbelow(i + 1)
            x.swapAt(i, j)
            i -= 1
        }
    }
}
