import CBLAS

/// Single-precision matrix products through OpenBLAS (`cblas_sgemm`), row-major.
/// Every matrix product in cocoon goes through `GEMM.sgemm`.
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

/// The number of threads OpenBLAS uses: all cores by default, `COCOON_THREADS` overrides.
/// Called once by the CLI and by benchmarks before any GEMM.
public enum Threads {
    public static func configure(_ requested: Int? = nil) -> Int {
        var n = requested ?? 0
        if n <= 0, let env = getenvString("COCOON_THREADS"), let v = Int(env), v > 0 { n = v }
        if n <= 0 { n = Int(openblas_get_num_procs()) }
        openblas_set_num_threads(Int32(n))
        return n
    }

    public static var current: Int { Int(openblas_get_num_threads()) }
}

#if canImport(Glibc)
import Glibc
#endif

private func getenvString(_ name: String) -> String? {
    guard let p = getenv(name) else { return nil }
    return String(cString: p)
}
