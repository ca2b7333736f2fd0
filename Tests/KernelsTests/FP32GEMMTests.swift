import XCTest
@testable import Kernels

/// Our FP32 kernel (`CFloat32` through `FP32GEMM`) against a double-precision reference and
/// OpenBLAS's `cblas_sgemm`, every micro-kernel the CPU runs (AVX2 forced on AVX-512 machines too)
/// giving the same bits, and each row's bits independent of its place, the batch and the threads.
final class FP32GEMMTests: XCTestCase {
    private func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 500
        }
    }

    /// Every kernel this CPU runs: portable C always, AVX2 and AVX-512 when present.
    private var kernels: [FP32Kernel] { FP32Kernel.allCases.filter { $0.rawValue <= FP32Kernel.best.rawValue } }

    /// y = x·Wᵀ + bias and dx = dy·W on shapes off every tile size (M = 1, K = 1, tails of 6- and
    /// 12-row tiles, 16-column panels and 256-deep slices), against Float64 within fp32's
    /// accumulation bound and against `cblas_sgemm` (`Linear`), each kernel bit-identical to the others.
    func testLinearAndItsInputGradientMatchTheReferenceAndOpenBLAS() {
        for (rows, K, N) in [(1, 1, 1), (1, 768, 512), (7, 13, 45), (13, 1, 33), (50, 300, 70), (197, 257, 130), (29, 600, 17)] {
            let x = values(rows * K, seed: 1), w = values(N * K, seed: 2), bias = values(N, seed: 3), dy = values(rows * N, seed: 4)
            var results: [[UInt32]] = []
            for kernel in kernels {
                var y = [Float](repeating: .nan, count: rows * N), dx = [Float](repeating: .nan, count: rows * K)
                let weights = FP32Weights()
                FP32GEMM.linear(&y, x, weight: w, bias: bias, rows: rows, inFeatures: K, outFeatures: N, weights: weights,
                                kernel: kernel)
                FP32GEMM.backwardInput(&dx, dy, weight: w, rows: rows, inFeatures: K, outFeatures: N, weights: weights,
                                       kernel: kernel)
                results.append(y.map(\.bitPattern) + dx.map(\.bitPattern))
                var blasY = [Float](repeating: 0, count: rows * N), blasDX = [Float](repeating: 0, count: rows * K)
                Linear.forward(&blasY, x, weight: w, bias: bias, rows: rows, inFeatures: K, outFeatures: N)
                Linear.backwardInput(&blasDX, dy, weight: w, rows: rows, inFeatures: K, outFeatures: N)
                // fp32 accumulation of `terms` products: error ≤ terms·2⁻²⁴·Σ|term|
                func check(_ got: Float, _ blas: Float, _ start: Double, _ terms: [(Float, Float)], _ what: String) {
                    var exact = start, magnitude = abs(start)
                    for (a, b) in terms {
                        exact += Double(a) * Double(b)
                        magnitude += abs(Double(a) * Double(b))
                    }
                    let bound = Double(terms.count + 1) * 6e-8 * magnitude + 1e-12
                    XCTAssertEqual(Double(got), exact, accuracy: bound, "\(kernel) \(what)")
                    XCTAssertEqual(Double(got), Double(blas), accuracy: 2 * bound, "\(kernel) \(what) against cblas_sgemm")
                }
                for i in 0..<rows {
                    for j in 0..<N {
                        check(y[i * N + j], blasY[i * N + j], Double(bias[j]), (0..<K).map { (x[i * K + $0], w[j * K + $0]) },
                              "y \(rows)×\(K)×\(N) at (\(i), \(j))")
                    }
                    for k in 0..<K {
                        check(dx[i * K + k], blasDX[i * K + k], 0, (0..<N).map { (dy[i * N + $0], w[$0 * K + k]) },
                              "dx \(rows)×\(K)×\(N) at (\(i), \(k))")
                    }
                }
            }
            for (kernel, bits) in zip(kernels, results).dropFirst() {
                XCTAssertEqual(bits, results[0], "\(kernel) differs from \(kernels[0]) at \(rows)×\(K)×\(N)")
            }
        }
    }

    /// A row computed alone has the bits it has at any slot of a batch of 7, 50 or 197 rows (the
    /// ViT's 50 tokens per image, ViT-B/16's 197), on 1 or 2 threads (split by rows, or by columns
    /// when a product has fewer row tiles than threads), with each kernel.
    func testARowsBitsDependOnlyOnTheRow() {
        let (K, N) = (768, 200)
        let w = values(N * K, seed: 8), bias = values(N, seed: 9)
        let weights = FP32Weights()
        for kernel in kernels {
            for batch in [7, 50, 197] {
                let x = values(batch * K, seed: UInt64(10 + batch))
                func run(rows: Int, from first: Int, threads: Int) -> [Float] {
                    var y = [Float](repeating: 0, count: rows * N)
                    withThreads(threads) {
                        x.withUnsafeBufferPointer { p in
                            FP32GEMM.linear(&y, p.baseAddress! + first * K, weight: w, bias: bias, rows: rows, inFeatures: K,
                                            outFeatures: N, weights: weights, kernel: kernel)
                        }
                    }
                    return y
                }
                let together = run(rows: batch, from: 0, threads: 1)
                XCTAssertEqual(run(rows: batch, from: 0, threads: 2).map(\.bitPattern), together.map(\.bitPattern),
                               "\(kernel): batch of \(batch) on 2 threads")
                for r in Set([0, 5, batch / 2, batch - 1]) {
                    let alone = run(rows: 1, from: r, threads: 1)
                    XCTAssertEqual(alone.map(\.bitPattern), Array(together[r * N..<(r + 1) * N]).map(\.bitPattern),
                                   "\(kernel): row \(r) of \(batch)")
                }
            }
            // few rows, many columns: the columns split between threads
            let (M, D) = (5, 1024)
            let a = values(M * D, seed: 20), square = values(D * D, seed: 21)
            func wide(threads: Int) -> [UInt32] {
                var y = [Float](repeating: 0, count: M * D)
                withThreads(threads) {
                    FP32GEMM.linear(&y, a, weight: square, bias: nil, rows: M, inFeatures: D, outFeatures: D, weights: weights,
                                    kernel: kernel)
                }
                return y.map(\.bitPattern)
            }
            XCTAssertEqual(wide(threads: 2), wide(threads: 1), "\(kernel): column split")
        }
    }

    /// `weightTimes` (the convolutions: the weight on the left, the activations packed per call) on
    /// shapes off every tile, panel and slice size: within fp32's bound of Float64 and of
    /// `cblas_sgemm`, the same bits from every kernel and on 1 or 2 threads (rows or columns
    /// split), and each output column the bits `multiply` gives the transposed product, row by
    /// row: the same chains.
    func testWeightTimesActivationsMatchesTheReferenceAndTheTransposedProduct() {
        for (m, k, n) in [(1, 1, 1), (3, 27, 5), (13, 300, 37), (64, 257, 121), (5, 64, 1100)] {
            let w = values(m * k, seed: 40), x = values(k * n, seed: 41)
            var results: [[UInt32]] = []
            for kernel in kernels {
                for threads in [1, 2] {
                    var c = [Float](repeating: .nan, count: m * n)
                    withThreads(threads) { FP32GEMM.weightTimes(&c, weight: w, x, rows: m, k: k, columns: n, kernel: kernel) }
                    results.append(c.map(\.bitPattern))
                }
            }
            for (index, bits) in results.enumerated().dropFirst() {
                XCTAssertEqual(bits, results[0], "\(m)×\(k)×\(n): run \(index) (kernel, threads) differs")
            }
            let c = results[0].map(Float.init(bitPattern:))
            var blas = [Float](repeating: 0, count: m * n)
            GEMM.sgemm(m: m, n: n, k: k, a: w, lda: k, b: x, ldb: n, c: &blas, ldc: n)
            // cᵀ[n, m] = xᵀ[n, k] · wᵀ[k, m], wᵀ packed as a frozen [k, m] operand
            let xT = (0..<n * k).map { x[($0 % k) * n + $0 / k] }, wT = (0..<k * m).map { w[($0 % m) * k + $0 / m] }
            var transposed = [Float](repeating: 0, count: n * m)
            FP32GEMM.multiply(&transposed, xT, by: wT, rows: n, k: k, n: m, weights: FP32Weights())
            for i in 0..<m {
                for j in 0..<n {
                    var exact = 0.0, magnitude = 0.0
                    for p in 0..<k {
                        exact += Double(w[i * k + p]) * Double(x[p * n + j])
                        magnitude += abs(Double(w[i * k + p]) * Double(x[p * n + j]))
                    }
                    let bound = Double(k + 1) * 6e-8 * magnitude + 1e-12
                    XCTAssertEqual(Double(c[i * n + j]), exact, accuracy: bound, "\(m)×\(k)×\(n) at (\(i), \(j))")
                    XCTAssertEqual(Double(c[i * n + j]), Double(blas[i * n + j]), accuracy: 2 * bound, "against cblas_sgemm")
                    XCTAssertEqual(c[i * n + j].bitPattern, transposed[j * m + i].bitPattern, "same chain as the transposed product")
                }
            }
        }
    }

    /// The kernel chosen follows the CPU's flags; forcing one the CPU lacks is impossible.
    func testTheBestKernelFollowsTheCPUFlags() {
        let flags = OpenBLASCore.cpuFlags()
        #if arch(x86_64)
        let expected: FP32Kernel = flags.contains("avx512f") ? .avx512
            : ["avx2", "fma"].allSatisfy(flags.contains) ? .avx2 : .portable
        XCTAssertEqual(FP32Kernel.best, expected)
        #else
        XCTAssertEqual(FP32Kernel.best, .portable)
        #endif
        XCTAssertLessThanOrEqual(FP32Kernel.selected.rawValue, FP32Kernel.best.rawValue)
    }
}
