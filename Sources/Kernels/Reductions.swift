/// Sums, maxima and dot products over contiguous floats with independent partial results.
/// A loop with one accumulator waits out each add's latency; eight lanes (four for the maximum)
/// keep the units busy. The order of additions is fixed, so
/// results are reproducible run to run. Used by the softmax, LayerNorm, attention and the loss.
public enum Reduce {
    private typealias Lanes = SIMD8<Float>

    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>) -> Lanes {
        UnsafeRawPointer(p).loadUnaligned(as: Lanes.self)
    }

    /// Σ x[i]
    @inline(__always)
    public static func sum(_ x: UnsafePointer<Float>, count n: Int) -> Float {
        var acc = Lanes(), i = 0
        while i + 8 <= n { acc += load(x + i); i += 8 }
        var s = acc.sum()
        while i < n { s += x[i]; i += 1 }
        return s
    }

    /// max x[i] (−∞ when empty)
    @inline(__always)
    public static func max(_ x: UnsafePointer<Float>, count n: Int) -> Float {
        var m0 = -Float.infinity, m1 = m0, m2 = m0, m3 = m0, i = 0
        while i + 4 <= n {
            m0 = Swift.max(m0, x[i]); m1 = Swift.max(m1, x[i + 1])
            m2 = Swift.max(m2, x[i + 2]); m3 = Swift.max(m3, x[i + 3])
            i += 4
        }
        while i < n { m0 = Swift.max(m0, x[i]); i += 1 }
        return Swift.max(Swift.max(m0, m1), Swift.max(m2, m3))
    }

    /// Σ a[i]·b[i]
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count n: Int) -> Float {
        var acc = Lanes(), i = 0
        while i + 8 <= n { acc += load(a + i) * load(b + i); i += 8 }
        var s = acc.sum()
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }

    /// a·b / (|a|·|b|) (0 when either is zero).
    public static func cosine(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count n: Int) -> Float {
        let norms = (dot(a, a, count: n) * dot(b, b, count: n)).squareRoot()
        return norms > 0 ? dot(a, b, count: n) / norms : 0
    }

    /// Σ (x[i] − mean)²
    @inline(__always)
    public static func squaredDeviations(_ x: UnsafePointer<Float>, from mean: Float, count n: Int) -> Float {
        let m = Lanes(repeating: mean)
        var acc = Lanes(), i = 0
        while i + 8 <= n { let d = load(x + i) - m; acc += d * d; i += 8 }
        var s = acc.sum()
        while i < n { let d = x[i] - mean; s += d * d; i += 1 }
        return s
    }
}
