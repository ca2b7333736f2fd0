import Kernels

#if canImport(Glibc)
import Glibc
#endif

/// CLIP's classification head and loss on L2-normalised features (`Normalize` makes them, and takes
/// their gradient back): `logits = scale · image · textᵀ` and its text-side backward, mean
/// cross-entropy over the batch and ProGrad's distillation term, each with its gradient. Used by
/// every tuner step and by evaluation.
public enum CosineLoss {
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

    /// ProGrad's distillation term (`ProGradLoss`): mean over B of
    /// `Σ_k −softmax(teacher/T)_k · log_softmax(student/T)_k · T²`, for `[B, K]` student and teacher
    /// logits. Overwrites `student` with dL/dstudent when `gradient` is true:
    /// `T/B · (softmax(student/T)·Σ_k q_k − q)`, q = softmax(teacher/T) (Σq = 1 up to rounding).
    public static func distillation(_ student: UnsafeMutablePointer<Float>, teacher: UnsafePointer<Float>, rows B: Int,
                                    classes K: Int, temperature T: Float, gradient: Bool) -> Double {
        var loss = 0.0
        var q = [Float](repeating: 0, count: K)
        for b in 0..<B {
            let s = student + b * K, t = teacher + b * K
            // forward: q = softmax(t/T); log p = s/T − m − log Σ exp(s/T − m)
            var tm = -Float.infinity, sm = -Float.infinity
            for k in 0..<K { tm = max(tm, t[k] / T); sm = max(sm, s[k] / T) }
            var tsum: Float = 0, ssum: Float = 0
            for k in 0..<K { q[k] = expf(t[k] / T - tm); tsum += q[k]; ssum += expf(s[k] / T - sm) }
            let logZ = logf(ssum) + sm
            var row: Float = 0, qTotal: Float = 0
            for k in 0..<K {
                q[k] /= tsum
                qTotal += q[k]
                row += -q[k] * (s[k] / T - logZ) * T * T
            }
            loss += Double(row)
            if gradient {
                // backward: d/ds_k = T²/B · (softmax(s/T)_k·Σq − q_k) / T
                let scale = T / Float(B)
                for k in 0..<K { s[k] = scale * (expf(s[k] / T - logZ) * qTotal - q[k]) }
            }
        }
        return loss / Double(B)
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
