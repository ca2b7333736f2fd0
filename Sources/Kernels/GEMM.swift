import CBLAS

/// Single-precision matrix products through OpenBLAS (`cblas_sgemm`), row-major: attention, the
/// losses, trainable layers and the adapters. Products against the towers' frozen weights run in
/// our own kernels instead: `FP32GEMM` (`CFloat32`) and, under `--precision bf16`, `BF16GEMM`.
public enum GEMM {
    /// `C[m,n] = alpha · op(A) · op(B) + beta · C`, all row-major with leading dimensions
    /// `lda`, `ldb`, `ldc`; `op(X) = Xᵀ` when the matching `trans` flag is set.
    /// A linear layer `Y = X·Wᵀ` with `W` stored `[out, in]` is `sgemm(transB: true, …)`.
    @inline(__always)
    public static func sgemm(transA: Bool = false, transB: Bool = false,
                             m: Int, n: Int, k: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

/// Thread counts: cocoon's own (`current`: `Parallel.ranges` loops and FP32/BF16 products split over
/// it) and OpenBLAS's, both every core by default (`COCOON_THREADS` overrides). Set once by the
/// CLI and by benchmarks before any product; `Parallel.slices` drops both to 1 while its lanes run.
public enum Threads {
    /// cocoon's own thread count now (1 inside `Parallel.slices` lanes).
    public internal(set) static var current = Int(openblas_get_num_threads())

    /// Sets both counts to `requested` (else `COCOON_THREADS`, else every core) and returns it.
    /// `serialBLAS` keeps OpenBLAS on one thread: for runs whose heavy products are cocoon's own
    /// (prompt tuning: the text tower's linear layers in `FP32GEMM` or `BF16GEMM`, rows split over
    /// `current` threads), where OpenBLAS's idle threads would spin against them after each small call.
    public static func configure(_ requested: Int? = nil, serialBLAS: Bool = false) -> Int {
        var n = requested ?? 0
        if n <= 0, let env = getenvString("COCOON_THREADS"), let v = Int(env), v > 0 { n = v }
        if n <= 0 { n = Int(openblas_get_num_procs()) }
        openblas_set_num_threads(Int32(serialBLAS ? 1 : n))
        current = n
        return n
    }
}

#if canImport(Glibc)
import Glibc
#endif

private func getenvString(_ name: String) -> String? {
    guard let p = getenv(name) else { return nil }
    return String(cString: p)
}
