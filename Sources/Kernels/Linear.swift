/// Fully connected layer `y = x·Wᵀ + b` with PyTorch's weight layout `W: [out, in]`, in OpenBLAS.
/// Used by trainable layers (CoCoOp's Meta-Net, the adapters, the linear probe); the towers'
/// frozen layers run in `FP32GEMM` (or `BF16GEMM`): a residual block through its `LinearKernel`, the image towers' other products through `ProductScratch`.
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

/// Which kernel runs a frozen linear layer's two products, `y = x·Wᵀ + b` and `dx = dy·W` (W `[out, in]`):
/// our FP32 kernel (`FP32GEMM`, on the block's packed weights), or the BF16 kernel on the weights' packed copies (`BF16GEMM`).
/// Chosen once from a `Precision` by the tower that owns the weights, which hands the value to each of
/// its residual blocks (`ResidualBlock.running(_:)`); the blocks' calls never carry a precision.
public enum LinearKernel {
    case fp32
    /// The packed weights are shared by every block and lane of one tower.
    case bf16(BF16Weights)

    /// FP32, or BF16 with a fresh (empty) cache of packed weights.
    public init(_ precision: Precision) {
        self = precision == .bf16 ? .bf16(BF16Weights()) : .fp32
    }

    /// y[rows, out] = x[rows, in] · Wᵀ + bias (`bias` may be nil): our FP32 kernel on `fp32` (the
    /// caller's packing of W), or BF16. `scratch` holds the BF16 kernel's copies of `x`.
    public func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                        bias: UnsafePointer<Float>?, rows: Int, inFeatures: Int, outFeatures: Int,
                        fp32: FP32Weights, scratch: ProductScratch) {
        switch self {
        case .fp32:
            FP32GEMM.linear(y, x, weight: weight, bias: bias, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures,
                            weights: fp32)
        case .bf16(let weights):
            BF16GEMM.linear(y, x, weight: weight, bias: bias, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures,
                            weights: weights, scratch: scratch.bf16Scratch)
        }
    }

    /// dx[rows, in] = dy[rows, out] · W: the input gradient of `forward`, on the same kernel.
    public func backwardInput(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                              rows: Int, inFeatures: Int, outFeatures: Int, fp32: FP32Weights, scratch: ProductScratch) {
        switch self {
        case .fp32:
            FP32GEMM.backwardInput(dx, dy, weight: weight, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures,
                                   weights: fp32)
        case .bf16(let weights):
            BF16GEMM.backwardInput(dx, dy, weight: weight, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures,
                                   weights: weights, scratch: scratch.bf16Scratch)
        }
    }
}
