import CBLAS

/// A convolution's product over a batch of images laid side by side (`[·, B, H, W]` columns),
/// computed in OpenBLAS so that every image gets the bits it gets alone: its outputs are a
/// function of the image, not of its slot in the batch, the batch size, the lane split or where a
/// resumed run restarted. The ResNet's convolutions run here; every other product on frozen
/// weights runs in our own kernels, row-invariant by construction (`FP32GEMM`, `BF16GEMM`).
///
/// Why it is needed: OpenBLAS computes a column of `C` by a summation path that depends on where
/// the column sits. Measured with Debian's 0.3.21 (one thread): the AVX2 kernels (`Haswell`,
/// `Zen`) sum in whole 12-wide blocks one of two orders by the place in the block and the tail
/// in others; the AVX-512 kernels (`SkylakeX`, `Cooperlake`) use one order except through the
/// small-matrix path (`M·N·K ≤ 10⁶`), which sums differently.
///
/// The rule, which holds for any kernel family: each image's run of columns starts at a multiple
/// of the family's **period** and is padded with zeros to a whole number of periods, so every real
/// column sits at the same offset within its block and never in a tail; a product whose
/// single-image shape is small enough for the small-matrix path runs one call per image instead,
/// so its shape never depends on the batch. The period is found once per process by a probe
/// (`columnPeriod`); a library whose results no period up to 96 makes position-independent runs
/// every product per image (period 0). Single-threaded BLAS only: the encoders call this from
/// `Parallel.slices` lanes (a multi-threaded product splits columns between threads by the total size).
public enum SampleInvariantGEMM {
    /// Columns per aligned block for `W·X` (a convolution as a GEMM): 0 = run each sample alone.
    public static let columnPeriod = probe { samples, length in runColumns(samples: samples, length: length) }

    /// OpenBLAS's small-matrix path takes products with `M·N·K` up to this (`interface/gemm.c`).
    static let smallProduct = 1_000_000

    /// `c[M, S·L] = a[M, K] · b[K, S·L] (+ c when `accumulate`)` for `S` samples of `L` columns
    /// each (a convolution's im2col matrix in `[·, B, H, W]` layout), every sample's columns
    /// bit-identical to a run of that sample alone.
    public static func columns(m M: Int, k K: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                               c: UnsafeMutablePointer<Float>, samples S: Int, columnsPerSample L: Int,
                               accumulate: Bool, padding: ProductScratch) {
        let U = columnPeriod, n = S * L, beta: Float = accumulate ? 1 : 0
        if U == 0 || M * L * K <= smallProduct {
            for s in 0..<S {
                GEMM.sgemm(m: M, n: L, k: K, a: a, lda: K, b: b + s * L, ldb: n, beta: beta, c: c + s * L, ldc: n)
            }
            return
        }
        if L % U == 0 {
            GEMM.sgemm(m: M, n: n, k: K, a: a, lda: K, b: b, ldb: n, beta: beta, c: c, ldc: n)
            return
        }
        let Lp = (L + U - 1) / U * U, np = S * Lp
        let bp = padding.paddedInput.pointer(capacity: K * np), cp = padding.paddedOutput.pointer(capacity: M * np)
        gatherColumns(bp, b, rows: K, samples: S, length: L, padded: Lp)
        if accumulate { gatherColumns(cp, c, rows: M, samples: S, length: L, padded: Lp) }
        GEMM.sgemm(m: M, n: np, k: K, a: a, lda: K, b: bp, ldb: np, beta: beta, c: cp, ldc: np)
        for r in 0..<M {
            for s in 0..<S { (c + r * n + s * L).update(from: cp + r * np + s * Lp, count: L) }
        }
    }

    /// dst[r, s·Lp ..< s·Lp+L] = src[r, s·L ..< s·L+L], zeros in the padding columns.
    private static func gatherColumns(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>,
                                      rows: Int, samples S: Int, length L: Int, padded Lp: Int) {
        for r in 0..<rows {
            for s in 0..<S {
                let d = dst + (r * S + s) * Lp
                d.update(from: src + (r * S + s) * L, count: L)
                (d + L).update(repeating: 0, count: Lp - L)
            }
        }
    }

    // MARK: the probe

    /// The smallest period at which `run(samples, length)` (the outputs of `samples` copies of one
    /// sample of `length` columns, sample-major) gives every copy the bits of a lone
    /// sample, for two lengths, three small batches and one of over 2,600 rows (past OpenBLAS's
    /// blocking of M); 0 when no candidate does.
    static func probe(_ run: (Int, Int) -> [[Float]]) -> Int {
        let threads = openblas_get_num_threads()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(threads) }
        for period in [1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96] {
            let base = (probeMinimumLength + period - 1) / period * period
            let holds = [base, base + period].allSatisfy { length in
                let alone = run(1, length)[0]
                return [2, 3, 2_600 / length + 1].allSatisfy { samples in run(samples, length).allSatisfy { $0 == alone } }
            }
            if holds { return period }
        }
        return 0
    }

    /// Probe products are `probeSize`² per column, so runs of this many columns stay above the
    /// small-matrix threshold like the real layers they stand for.
    static let probeSize = 256
    static let probeMinimumLength = smallProduct / (probeSize * probeSize) + 1

    /// Deterministic probe values in [-1, 1).
    private static func probeValues(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int32(truncatingIfNeeded: state >> 33)) / Float(1 << 31)
        }
    }

    private static func runColumns(samples S: Int, length L: Int) -> [[Float]] {
        let K = probeSize, M = probeSize, n = S * L
        let sample = probeValues(K * L, seed: 3), a = probeValues(M * K, seed: 4)
        var b = [Float](repeating: 0, count: K * n)
        for r in 0..<K { for s in 0..<S { for j in 0..<L { b[r * n + s * L + j] = sample[r * L + j] } } }
        var c = [Float](repeating: 0, count: M * n)
        c.withUnsafeMutableBufferPointer { cb in
            GEMM.sgemm(m: M, n: n, k: K, a: a, lda: K, b: b, ldb: n, c: cb.baseAddress!, ldc: n)
        }
        return (0..<S).map { (s: Int) -> [Float] in
            var columns: [Float] = []
            for r in 0..<M { columns += c[r * n + s * L ..< r * n + (s + 1) * L] }
            return columns
        }
    }
}
