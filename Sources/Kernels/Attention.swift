#if canImport(Glibc)
import Glibc
#endif

/// Multi-head scaled dot-product attention on packed projections `qkv = [Q | K | V]` (`[B, T, 3W]`,
/// head h uses columns `h·dh ..< (h+1)·dh` of each part), as `nn.MultiheadAttention` inside CLIP.
/// Optionally every sequence also attends to a shared **prefix** (`[P, 3W]`, positions before its own):
/// the shared-prefix CoOp step runs SOS + context once and each class only its own suffix. With
/// several prefixes (`[G, P, 3W]`, CoCoOp: one per image), consecutive runs of `groupSize`
/// sequences share one.
/// `forward` keeps the softmax probabilities (`[B, H, T, P+T]`) that `backward` needs.
public enum Attention {
    /// Shape of one attention call.
    public struct Shape {
        public var batch: Int        // B sequences
        public var length: Int       // T own positions per sequence
        public var prefix: Int       // P shared positions before them (0: none)
        public var width: Int        // W
        public var heads: Int        // H
        public var causal: Bool      // query i sees prefix + own keys 0...i
        public var groupSize: Int    // sequences sharing one prefix

        public init(batch: Int, length: Int, prefix: Int = 0, width: Int, heads: Int, causal: Bool, groupSize: Int? = nil) {
            self.batch = batch; self.length = length; self.prefix = prefix
            self.width = width; self.heads = heads; self.causal = causal
            self.groupSize = max(groupSize ?? batch, 1)
        }

        public var headDim: Int { width / heads }
        public var keys: Int { prefix + length }
        /// Elements of the probabilities buffer: B·H·T·(P+T).
        public var probabilityCount: Int { batch * heads * length * keys }
    }

    /// out[B, T, W] = concat_h softmax(Q_h·[Kp_h; K_h]ᵀ/√dh + mask)·[Vp_h; V_h].
    /// `prefixQKV` is `[G, P, 3W]` (only its K and V parts are read) when `shape.prefix > 0`.
    public static func forward(out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
                               qkv: UnsafePointer<Float>, prefixQKV: UnsafePointer<Float>? = nil, shape s: Shape) {
        let W = s.width, dh = s.headDim, T = s.length, P = s.prefix, Tk = s.keys, ld = 3 * W
        let scale = 1 / Float(dh).squareRoot()
        for b in 0..<s.batch {
            let seq = qkv + b * T * ld
            let prefixQKV = prefixQKV.map { $0 + (b / s.groupSize) * P * ld }
            for h in 0..<s.heads {
                let q = seq + h * dh, k = seq + W + h * dh, v = seq + 2 * W + h * dh
                let p = probs + ((b * s.heads + h) * T) * Tk              // [T, Tk]
                if P > 0, let pre = prefixQKV {
                    GEMM.sgemm(transB: true, m: T, n: P, k: dh, alpha: scale, a: q, lda: ld,
                               b: pre + W + h * dh, ldb: ld, c: p, ldc: Tk)
                }
                GEMM.sgemm(transB: true, m: T, n: T, k: dh, alpha: scale, a: q, lda: ld, b: k, ldb: ld, c: p + P, ldc: Tk)
                softmaxRows(p, rows: T, cols: Tk, ownStart: P, causal: s.causal)
                let o = out + b * T * W + h * dh
                if P > 0, let pre = prefixQKV {
                    GEMM.sgemm(m: T, n: dh, k: P, a: p, lda: Tk, b: pre + 2 * W + h * dh, ldb: ld, c: o, ldc: W)
                    GEMM.sgemm(m: T, n: dh, k: T, a: p + P, lda: Tk, b: v, ldb: ld, beta: 1, c: o, ldc: W)
                } else {
                    GEMM.sgemm(m: T, n: dh, k: T, a: p, lda: Tk, b: v, ldb: ld, c: o, ldc: W)
                }
            }
        }
    }

    /// Gradients of `forward`: dqkv[B, T, 3W] is overwritten; the prefixes' K and V gradients
    /// (`dPrefixQKV`, `[G, P, 3W]`) are **accumulated** over their sequences (Q parts untouched).
    public static func backward(dqkv: UnsafeMutablePointer<Float>, dPrefixQKV: UnsafeMutablePointer<Float>? = nil,
                                dout: UnsafePointer<Float>, qkv: UnsafePointer<Float>, prefixQKV: UnsafePointer<Float>? = nil,
                                probs: UnsafePointer<Float>, shape s: Shape) {
        let W = s.width, dh = s.headDim, T = s.length, P = s.prefix, Tk = s.keys, ld = 3 * W
        let scale = 1 / Float(dh).squareRoot()
        let dp = UnsafeMutablePointer<Float>.allocate(capacity: max(T * Tk, 1))   // [T, Tk] scratch
        defer { dp.deallocate() }
        for b in 0..<s.batch {
            let seq = qkv + b * T * ld, dseq = dqkv + b * T * ld
            let prefixQKV = prefixQKV.map { $0 + (b / s.groupSize) * P * ld }
            let dPrefixQKV = dPrefixQKV.map { $0 + (b / s.groupSize) * P * ld }
            for h in 0..<s.heads {
                let q = seq + h * dh, k = seq + W + h * dh, v = seq + 2 * W + h * dh
                let dq = dseq + h * dh, dk = dseq + W + h * dh, dv = dseq + 2 * W + h * dh
                let p = probs + ((b * s.heads + h) * T) * Tk
                let dO = dout + b * T * W + h * dh
                // dP = dO · [Vp; V]ᵀ      [T, Tk]
                if P > 0, let pre = prefixQKV {
                    GEMM.sgemm(transB: true, m: T, n: P, k: dh, a: dO, lda: W, b: pre + 2 * W + h * dh, ldb: ld, c: dp, ldc: Tk)
                }
                GEMM.sgemm(transB: true, m: T, n: T, k: dh, a: dO, lda: W, b: v, ldb: ld, c: dp + P, ldc: Tk)
                // dV = P_ownᵀ · dO;  dVp += P_prefixᵀ · dO
                GEMM.sgemm(transA: true, m: T, n: dh, k: T, a: p + P, lda: Tk, b: dO, ldb: W, c: dv, ldc: ld)
                if P > 0, let dpre = dPrefixQKV {
                    GEMM.sgemm(transA: true, m: P, n: dh, k: T, a: p, lda: Tk, b: dO, ldb: W, beta: 1,
                               c: dpre + 2 * W + h * dh, ldc: ld)
                }
                // dS = scale · P ⊙ (dP − rowsum(dP ⊙ P))   (masked entries have P = 0)
                for i in 0..<T {
                    let pr = p + i * Tk, dr = dp + i * Tk
                    var dot: Float = 0
                    for j in 0..<Tk { dot += pr[j] * dr[j] }
                    for j in 0..<Tk { dr[j] = scale * pr[j] * (dr[j] - dot) }
                }
                // dQ = dS · [Kp; K];  dK = dS_ownᵀ · Q;  dKp += dS_prefixᵀ · Q
                GEMM.sgemm(m: T, n: dh, k: T, a: dp + P, lda: Tk, b: k, ldb: ld, c: dq, ldc: ld)
                if P > 0, let pre = prefixQKV {
                    GEMM.sgemm(m: T, n: dh, k: P, a: dp, lda: Tk, b: pre + W + h * dh, ldb: ld, beta: 1, c: dq, ldc: ld)
                }
                GEMM.sgemm(transA: true, m: T, n: dh, k: T, a: dp + P, lda: Tk, b: q, ldb: ld, c: dk, ldc: ld)
                if P > 0, let dpre = dPrefixQKV {
                    GEMM.sgemm(transA: true, m: P, n: dh, k: T, a: dp, lda: Tk, b: q, ldb: ld, beta: 1,
                               c: dpre + W + h * dh, ldc: ld)
                }
            }
        }
    }

    /// Row-wise softmax in place; with `causal`, row i keeps columns `0 ..< ownStart + i + 1` and zeroes the rest.
    @inline(__always)
    public static func softmaxRows(_ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ownStart: Int, causal: Bool) {
        for i in 0..<rows {
            let r = p + i * cols
            let visible = causal ? ownStart + i + 1 : cols
            var m = -Float.infinity
            for j in 0..<visible { m = max(m, r[j]) }
            var sum: Float = 0
            for j in 0..<visible { let e = expf(r[j] - m); r[j] = e; sum += e }
            let inv = 1 / sum
            for j in 0..<visible { r[j] *= inv }
            for j in visible..<cols { r[j] = 0 }
        }
    }
}
