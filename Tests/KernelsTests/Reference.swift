import Foundation
import Hashing
@testable import Kernels

/// Float64 reference implementations and finite differences for the kernel tests.
struct SeededRandom {
    private var bits: SplitMix64
    init(_ seed: UInt64) { bits = SplitMix64(state: seed &+ 0x9E37_79B9_7F4A_7C15) }
    mutating func next() -> UInt64 { bits.next() }
    /// Uniform in [-1, 1).
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) * 2 - 1 }
    mutating func array(_ n: Int, scale: Double = 1) -> [Double] { (0..<n).map { _ in uniform() * scale } }
}

func tensor(_ values: [Double], _ shape: [Int]) -> Tensor { Tensor(shape: shape, values: values.map { Float($0) }) }

/// Central differences of a scalar function in Float64.
func numericGradient(_ x: [Double], eps: Double = 1e-6, _ f: ([Double]) -> Double) -> [Double] {
    var x = x
    var g = [Double](repeating: 0, count: x.count)
    for i in 0..<x.count {
        let saved = x[i]
        x[i] = saved + eps; let plus = f(x)
        x[i] = saved - eps; let minus = f(x)
        x[i] = saved
        g[i] = (plus - minus) / (2 * eps)
    }
    return g
}

/// max |a − b| / max(1, max |b|): the relative error the tests bound.
func relativeError(_ a: [Float], _ b: [Double]) -> Double {
    var worst = 0.0, scale = 1.0
    for i in 0..<b.count { worst = max(worst, abs(Double(a[i]) - b[i])); scale = max(scale, abs(b[i])) }
    return worst / scale
}

func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

enum Ref {
    static func linear(_ x: [Double], _ w: [Double], _ b: [Double]?, rows: Int, inF: Int, outF: Int) -> [Double] {
        var y = [Double](repeating: 0, count: rows * outF)
        for r in 0..<rows { for o in 0..<outF {
            var s = b?[o] ?? 0
            for i in 0..<inF { s += x[r * inF + i] * w[o * inF + i] }
            y[r * outF + o] = s
        } }
        return y
    }

    static func layerNorm(_ x: [Double], _ g: [Double], _ b: [Double], rows: Int, dim: Int) -> [Double] {
        var y = x
        for r in 0..<rows {
            let row = Array(x[r * dim..<(r + 1) * dim])
            let m = row.reduce(0, +) / Double(dim)
            let v = row.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(dim)
            for i in 0..<dim { y[r * dim + i] = (row[i] - m) / (v + 1e-5).squareRoot() * g[i] + b[i] }
        }
        return y
    }

    static func quickGELU(_ x: [Double]) -> [Double] { x.map { $0 / (1 + exp(-1.702 * $0)) } }

    /// Attention of B sequences of T positions over a shared prefix of P positions (qkv packed, [*, 3W]).
    static func attention(_ qkv: [Double], prefix: [Double], B: Int, T: Int, P: Int, W: Int, H: Int, causal: Bool,
                          groups: Int = 1) -> [Double] {
        let dh = W / H, groupSize = B / groups
        var out = [Double](repeating: 0, count: B * T * W)
        for b in 0..<B { for h in 0..<H { for i in 0..<T {
            var keys: [(k: [Double], v: [Double])] = []
            for j in 0..<P {
                let g = b / groupSize
                let row = Array(prefix[(g * P + j) * 3 * W..<(g * P + j + 1) * 3 * W])
                keys.append((Array(row[W + h * dh..<W + (h + 1) * dh]), Array(row[2 * W + h * dh..<2 * W + (h + 1) * dh])))
            }
            for j in 0..<T where !causal || j <= i {
                let row = Array(qkv[(b * T + j) * 3 * W..<(b * T + j + 1) * 3 * W])
                keys.append((Array(row[W + h * dh..<W + (h + 1) * dh]), Array(row[2 * W + h * dh..<2 * W + (h + 1) * dh])))
            }
            let qrow = Array(qkv[(b * T + i) * 3 * W + h * dh..<(b * T + i) * 3 * W + (h + 1) * dh])
            let scores = keys.map { dot(qrow, $0.k) / Double(dh).squareRoot() }
            let m = scores.max()!
            let e = scores.map { exp($0 - m) }
            let z = e.reduce(0, +)
            for d in 0..<dh {
                var s = 0.0
                for (j, kv) in keys.enumerated() { s += e[j] / z * kv.v[d] }
                out[(b * T + i) * W + h * dh + d] = s
            }
        } } }
        return out
    }
}

/// Runs `body` with cocoon's thread count set to `threads`, then restores it.
func withThreads<T>(_ threads: Int, _ body: () -> T) -> T {
    let before = Threads.current
    defer { _ = Threads.configure(before) }
    _ = Threads.configure(threads)
    return body()
}
