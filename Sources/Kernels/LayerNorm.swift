/// Layer normalisation over the last dimension (eps 1e-5, biased variance, affine), as CLIP's `LayerNorm`.
/// `forward` saves the per-row mean and reciprocal standard deviation that `backward` needs.
public enum LayerNorm {
    public static let epsilon: Float = 1e-5

    /// y[rows, dim] = (x − μ)·rstd·γ + β; mean/rstd[rows] are written when non-nil (training).
    public static func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
                               gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                               mean: UnsafeMutablePointer<Float>?, rstd: UnsafeMutablePointer<Float>?,
                               rows: Int, dim: Int) {
        let invDim = 1 / Float(dim)
        Parallel.ranges(rows, work: rows * dim) { range in for r in range {
            let xr = x + r * dim, yr = y + r * dim
            let m = Reduce.sum(xr, count: dim) * invDim
            let s = 1 / (Reduce.squaredDeviations(xr, from: m, count: dim) * invDim + epsilon).squareRoot()
            for i in 0..<dim { yr[i] = (xr[i] - m) * s * gamma[i] + beta[i] }
            mean?[r] = m
            rstd?[r] = s
        } }
    }

    /// dx[rows, dim] (=|+=) rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·γ, x̂ = (x − μ)·rstd.
    public static func backward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
                                gamma: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                                rows: Int, dim: Int, accumulate: Bool = false) {
        let invDim = 1 / Float(dim)
        Parallel.ranges(rows, work: rows * dim) { range in for r in range {
            let xr = x + r * dim, dyr = dy + r * dim, dxr = dx + r * dim
            let m = mean[r], s = rstd[r]
            var gMean: Float = 0, gxMean: Float = 0
            for i in 0..<dim {
                let g = dyr[i] * gamma[i]
                gMean += g
                gxMean += g * (xr[i] - m) * s
            }
            gMean *= invDim
            gxMean *= invDim
            if accumulate {
                for i in 0..<dim { dxr[i] += s * (dyr[i] * gamma[i] - gMean - (xr[i] - m) * s * gxMean) }
            } else {
                for i in 0..<dim { dxr[i] = s * (dyr[i] * gamma[i] - gMean - (xr[i] - m) * s * gxMean) }
            }
        } }
    }
}
