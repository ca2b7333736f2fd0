/// A lane's state for the products on frozen weights: the BF16 weights when the encoder runs in
/// BF16 and the BF16 kernel's rounded activations, kept between calls. Owned by `BlockScratch` (residual blocks)
/// and the ModifiedResNet's lane buffers; `linear` and `backwardInput` pick the kernel.
public final class ProductScratch {
    /// Set by an encoder running `--precision bf16`: its weights' BF16 copies.
    public var bf16: BF16Weights?
    public let bf16Scratch = GrowableBuffer<UInt16>()
    public init() {}

    /// `y[rows, N] = x[rows, K] · Wᵀ + bias` (W `[N, K]` frozen): BF16 when the lane carries BF16
    /// weights and the layer is not `fp32Only`, else our FP32 kernel on `fp32`'s packing of W.
    /// Either way a row's bits depend only on that row.
    public func linear(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                       bias: UnsafePointer<Float>?, rows: Int, inFeatures: Int, outFeatures: Int, fp32: FP32Weights,
                       fp32Only: Bool = false) {
        if !fp32Only, let bf16 {
            BF16GEMM.linear(y, x, weight: weight, bias: bias, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures,
                            weights: bf16, scratch: bf16Scratch)
        } else {
            FP32GEMM.linear(y, x, weight: weight, bias: bias, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures,
                            weights: fp32)
        }
    }

    /// `dx[rows, K] = dy[rows, N] · W` (W `[N, K]` frozen), in the lane's precision as `linear`.
    public func backwardInput(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                              rows: Int, inFeatures: Int, outFeatures: Int, fp32: FP32Weights) {
        if let bf16 {
            BF16GEMM.backwardInput(dx, dy, weight: weight, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures,
                                   weights: bf16, scratch: bf16Scratch)
        } else {
            FP32GEMM.backwardInput(dx, dy, weight: weight, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures,
                                   weights: fp32)
        }
    }
}
