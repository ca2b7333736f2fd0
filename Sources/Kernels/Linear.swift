/// Fully connected layer `y = x·Wᵀ + b` with PyTorch's weight layout `W: [out, in]`, in OpenBLAS.
/// Used by trainable layers (CoCoOp's Meta-Net, the adapters, the linear probe); the towers'
/// frozen layers run in `FP32GEMM` (or `BF16GEMM`) through `ProductScratch`.
public enum Linear {
    /// y[rows, out] = x[rows, in] · Wᵀ + b. `bias` may be nil.
    public static func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                               rows: Int, inFeatures: Int, outFeatures: Int) {
        var beta: Float = 0
        if let bias {
            for r in 0..<rows { (y + r * outFeatures).update(from: bias, count: outFeatures) }
            beta = 1
        }
        GEMM.sgemm(transB: true, m: rows, n: outFeatures, k: inFeatures,
                   a: x, lda: inFeatures, b: weight, ldb: inFeatures, beta: beta, c: y, ldc: outFeatures)
    }

    /// dx[rows, in] (=|+=) dy[rows, out] · W. The only gradient a frozen layer needs.
    public static func backwardInput(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>,
                                     weight: UnsafePointer<Float>, rows: Int, inFeatures: Int, outFeatures: Int,
                                     accumulate: Bool = false) {
        GEMM.sgemm(m: rows, n: inFeatures, k: outFeatures, a: dy, lda: outFeatures, b: weight, ldb: inFeatures,
                   beta: accumulate ? 1 : 0, c: dx, ldc: inFeatures)
    }

    /// dW[out, in] += dyᵀ · x and db[out] += Σ_rows dy: for trainable layers (the Meta-Net).
    public static func backwardParameters(dWeight: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>?,
                                          _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
                                          rows: Int, inFeatures: Int, outFeatures: Int) {
        GEMM.sgemm(transA: true, m: outFeatures, n: inFeatures, k: rows, a: dy, lda: outFeatures,
                   b: x, ldb: inFeatures, beta: 1, c: dWeight, ldc: inFeatures)
        if let dBias {
            for r in 0..<rows {
                let row = dy + r * outFeatures
                for o in 0..<outFeatures { dBias[o] += row[o] }
            }
        }
    }
}
