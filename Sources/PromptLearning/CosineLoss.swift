import Kernels

#if canImport(Glibc)
import Glibc
#endif

/// CLIP's classification head and loss: `logits = scale · normalize(image) · normalize(text)ᵀ`,
/// mean cross-entropy over the batch, and the gradient w.r.t. the (unnormalised) text features.
/// Used by every tuner step and by evaluation.
public enum CosineLoss {
    /// Gradient through `x̂ = x/‖x‖` in place: dx = (dx̂ − x̂·(x̂·dx̂)) / ‖x‖, for `[rows, dim]`.
    public static func backwardNormalize(_ grad: UnsafeMutablePointer<Float>, normalized: UnsafePointer<Float>,
                                         norms: [Float], rows: Int, dim: Int) {
        for r in 0..<rows {
            let g = grad + r * dim, y = normalized + r * dim
            let d = Reduce.dot(g, y, count: dim)
            let inv = norms[r] > 0 ? 1 / norms[r] : 0
            for i in 0..<dim { g[i] = (g[i] - y[i] * d) * inv }
        }
    }

    /// logits[B, K] = scale · images[B, D] · text[K, D]ᵀ (both already L2-normalised).
    public static func logits(images: Tensor, text: Tensor, scale: Float) -> Tensor {
        let B = images.shape[0], D = images.shape[1], K = text.shape[0]
        let out = Tensor(shape: [B, K])
        GEMM.sgemm(transB: true, m: B, n: K, k: D, alpha: scale, a: images.data, lda: D, b: text.data, ldb: D,
                   c: out.data, ldc: K)
        return out
    }

    /// Backward of `logits` for the text side: dL/d(text)[K, D] = scale · dlogitsᵀ[K, B] · images[B, D].
    public static func textGradient(dLogits: Tensor, images: Tensor, scale: Float) -> Tensor {
        let B = images.shape[0], D = images.shape[1], K = dLogits.shape[1]
        let dText = Tensor(shape: [K, D])
        GEMM.sgemm(transA: true, m: K, n: D, k: B, alpha: scale, a: dLogits.data, lda: K, b: images.data, ldb: D,
                   c: dText.data, ldc: D)
        return dText
    }

    /// Softmax cross-entropy of `logits` (`[B, K]`) against `labels`, mean over B. Overwrites
    /// `logits` with dL/dlogits when `gradient` is true. Returns (loss, number of correct argmax).
    public static func crossEntropy(_ logits: UnsafeMutablePointer<Float>, labels: [Int], classes K: Int,
                                    gradient: Bool) -> (loss: Double, correct: Int) {
        let B = labels.count
        var loss = 0.0, correct = 0
        for b in 0..<B {
            let row = logits + b * K
            var m = -Float.infinity, arg = 0
            for k in 0..<K where row[k] > m { m = row[k]; arg = k }
            if arg == labels[b] { correct += 1 }
            var sum: Float = 0
            for k in 0..<K { sum += expf(row[k] - m) }
            loss += Double(logf(sum) + m - row[labels[b]])
            if gradient {
                let inv = 1 / (sum * Float(B))
                for k in 0..<K { row[k] = expf(row[k] - m) * inv }
                row[labels[b]] -= 1 / Float(B)
            }
        }
        return (loss / Double(B), correct)
    }
}
