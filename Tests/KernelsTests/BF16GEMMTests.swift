import XCTest
@testable import Kernels

/// The BF16 kernels (`CBFloat16` through `BF16GEMM`) against a double-precision reference on
/// BF16-rounded inputs, their row and column independence, and the refusal on CPUs without AVX512-BF16.
final class BF16GEMMTests: XCTestCase {
    /// Round to nearest even, as the kernels round.
    private func bf16(_ x: Float) -> Float {
        var bits = x.bitPattern
        bits = (bits &+ 0x7fff &+ ((bits >> 16) & 1)) & 0xffff_0000
        return Float(bitPattern: bits)
    }

    private func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 500
        }
    }

    private func requireBF16() throws {
        guard BF16Support.available else { throw XCTSkip("this CPU has no AVX512-BF16") }
    }

    /// y = x·Wᵀ + bias for odd sizes (tails of rows, pairs and 16-column panels).
    func testLinearMatchesTheReferenceOnRoundedInputs() throws {
        try requireBF16()
        for (rows, K, N) in [(1, 1, 1), (13, 37, 45), (70, 64, 33), (9, 768, 96)] {
            let x = values(rows * K, seed: 1), w = values(N * K, seed: 2), bias = values(N, seed: 3)
            var y = [Float](repeating: .nan, count: rows * N)
            let weights = BF16Weights(), scratch = BF16Buffer()
            BF16GEMM.linear(&y, x, weight: w, bias: bias, rows: rows, inFeatures: K, outFeatures: N, weights: weights, scratch: scratch)
            for i in 0..<rows {
                for j in 0..<N {
                    var exact = Double(bias[j]), magnitude = abs(Double(bias[j]))
                    for k in 0..<K {
                        let term = Double(bf16(x[i * K + k])) * Double(bf16(w[j * K + k]))
                        exact += term
                        magnitude += abs(term)
                    }
                    // fp32 accumulation of K products: error ≤ K·2⁻²⁴·Σ|terms| (far below bf16's 2⁻⁸)
                    XCTAssertEqual(Double(y[i * N + j]), exact, accuracy: Double(K + 1) * 6e-8 * magnitude + 1e-12,
                                   "\(rows)×\(K)×\(N) at (\(i), \(j))")
                }
            }
        }
    }

    /// c = W·b (+ c) for a convolution's layout, against the same reference.
    func testColumnsMatchTheReferenceAndAccumulate() throws {
        try requireBF16()
        let (M, K, n) = (20, 27, 50)
        let w = values(M * K, seed: 4), b = values(K * n, seed: 5), start = values(M * n, seed: 6)
        var c = start
        BF16GEMM.columns(m: M, k: K, weight: w, b: b, n: n, c: &c, accumulate: true, weights: BF16Weights(), scratch: BF16Buffer())
        for i in 0..<M {
            for j in 0..<n {
                var exact = Double(start[i * n + j])
                for k in 0..<K { exact += Double(bf16(w[i * K + k])) * Double(bf16(b[k * n + j])) }
                XCTAssertEqual(Double(c[i * n + j]), exact, accuracy: 1e-4, "(\(i), \(j))")
            }
        }
    }

    /// A row's bits do not depend on the rows around it, nor a column's on the other columns.
    func testRowsAndColumnsAreIndependentOfTheirNeighbours() throws {
        try requireBF16()
        let (K, N) = (300, 40)
        let x = values(23 * K, seed: 7), w = values(N * K, seed: 8)
        let weights = BF16Weights(), scratch = BF16Buffer()
        var all = [Float](repeating: 0, count: 23 * N)
        BF16GEMM.linear(&all, x, weight: w, bias: nil, rows: 23, inFeatures: K, outFeatures: N, weights: weights, scratch: scratch)
        for r in [0, 7, 8, 22] {
            var alone = [Float](repeating: 0, count: N)
            x.withUnsafeBufferPointer { p in
                BF16GEMM.linear(&alone, p.baseAddress! + r * K, weight: w, bias: nil, rows: 1, inFeatures: K, outFeatures: N,
                                weights: weights, scratch: scratch)
            }
            XCTAssertEqual(alone.map(\.bitPattern), Array(all[r * N..<(r + 1) * N]).map(\.bitPattern), "row \(r)")
        }
        // columns: the first 17 columns of b alone give the same bits as within 50 columns
        let (M, n) = (12, 50)
        let cw = values(M * K, seed: 9), b = values(K * n, seed: 10)
        var wide = [Float](repeating: 0, count: M * n), narrow = [Float](repeating: 0, count: M * 17)
        BF16GEMM.columns(m: M, k: K, weight: cw, b: b, n: n, c: &wide, accumulate: false, weights: weights, scratch: scratch)
        let first17 = (0..<K).flatMap { b[$0 * n..<$0 * n + 17] }
        BF16GEMM.columns(m: M, k: K, weight: cw, b: first17, n: 17, c: &narrow, accumulate: false, weights: weights, scratch: scratch)
        for i in 0..<M {
            XCTAssertEqual(narrow[i * 17..<(i + 1) * 17].map(\.bitPattern), wide[i * n..<i * n + 17].map(\.bitPattern), "row \(i)")
        }
    }

    func testCPUsWithoutAVX512BF16AreRefusedInOneLine() {
        let zen3: Set<String> = ["avx2", "fma", "sse4_2"]
        let reason = BF16Support.unsupportedReason(cpuFlags: zen3, kernelsRun: false)
        XCTAssertEqual(reason, "--precision bf16 needs AVX512-BF16 (this CPU lacks avx512f, avx512bw, avx512vl, avx512_bf16); use --precision fp32 (the default) on this machine")
        let skylake: Set<String> = ["avx512f", "avx512bw", "avx512vl"]
        XCTAssertTrue(BF16Support.unsupportedReason(cpuFlags: skylake, kernelsRun: false)!.contains("lacks avx512_bf16"))
        XCTAssertNil(BF16Support.unsupportedReason(cpuFlags: skylake.union(["avx512_bf16"]), kernelsRun: true))
        XCTAssertThrowsError(try Precision(option: "fp16")) { XCTAssertEqual("\($0)", "--precision 'fp16': expected fp32 or bf16") }
        XCTAssertEqual(try Precision(option: "FP32"), .fp32)
    }
}
