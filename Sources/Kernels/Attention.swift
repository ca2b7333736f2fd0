#if canImport(Glibc)
import Glibc
#endif

/// Multi-head scaled dot-product attention on packed projections `qkv = [Q | K | V]` (`[B, T, 3W]`,
/// head h uses columns `h·dh ..< (h+1)·dh` of each part), as `nn.MultiheadAttention` inside CLIP.
/// Optionally every sequence also attends to a shared **prefix** (`[P, 3W]`, positions before its own):
/// the shared-prefix CoOp step runs SOT + context once and each class only its own suffix. With
/// several prefixes (`[G, P, 3W]`, CoCoOp: one per image), consecutive runs of `groupSize`
/// sequences share one.
///
/// Work per head: the prefix part is one GEMM over all rows of a group (`[n·T, dh] × [dh, P]`);
/// the own part is a GEMM per sequence for long sequences and direct dot products for short ones
/// (CoOp suffixes are 3–8 tokens, where BLAS call overhead would dominate).
/// `forward` keeps the softmax probabilities (`[H, B·T, P+T]`) that `backward` needs. Heads run
/// over `Threads.current` threads (`Parallel.ranges`), each head's arithmetic unchanged.
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
        /// Elements of the probabilities buffer: H·B·T·(P+T).
        public var probabilityCount: Int { batch * heads * length * keys }
        /// Own sequences this long or shorter use direct loops instead of BLAS.
        static let loopLength = 24
        var ownByLoops: Bool { length <= Shape.loopLength }
    }

    /// out[B, T, W] = concat_h softmax(Q_h·[Kp_h; K_h]ᵀ/√dh + mask)·[Vp_h; V_h].
    /// `prefixQKV` is `[G, P, 3W]` (only its K and V parts are read) when `shape.prefix > 0`.
    public static func forward(out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
                               qkv: UnsafePointer<Float>, prefixQKV: UnsafePointer<Float>? = nil, shape s: Shape) {
        let W = s.width, dh = s.headDim, T = s.length, P = s.prefix, Tk = s.keys, ld = 3 * W
        let scale = 1 / Float(dh).squareRoot()
        // heads are independent (each writes its own probabilities and output columns): one range per thread
        Parallel.ranges(s.heads, work: s.heads * s.batch * T * Tk * dh) { heads in for h in heads {
            let ph = probs + h * s.batch * T * Tk                                   // [B·T, Tk]
            // prefix scores, one GEMM per group: rows of a group are contiguous
            if P > 0, let pre = prefixQKV {
                forEachGroup(s) { g, first, count in
                    GEMM.sgemm(transB: true, m: count * T, n: P, k: dh, alpha: scale, a: qkv + first * T * ld + h * dh, lda: ld,
                               b: pre + g * P * ld + W + h * dh, ldb: ld, c: ph + first * T * Tk, ldc: Tk)
                }
            }
            for b in 0..<s.batch {
                let q = qkv + b * T * ld + h * dh, k = q + W, p = ph + b * T * Tk + P
                if s.ownByLoops {
                    for i in 0..<T {
                        let visible = s.causal ? i + 1 : T
                        for j in 0..<visible { p[i * Tk + j] = scale * Reduce.dot(q + i * ld, k + j * ld, count: dh) }
                    }
                } else {
                    GEMM.sgemm(transB: true, m: T, n: T, k: dh, alpha: scale, a: q, lda: ld, b: k, ldb: ld, c: p, ldc: Tk)
                }
            }
            softmaxRows(ph, rows: s.batch * T, cols: Tk, ownStart: P, causal: s.causal, rowsPerSequence: T)
            // out = P_prefix · Vp (one GEMM per group) + P_own · V (per sequence)
            if P > 0, let pre = prefixQKV {
                forEachGroup(s) { g, first, count in
                    GEMM.sgemm(m: count * T, n: dh, k: P, a: ph + first * T * Tk, lda: Tk, b: pre + g * P * ld + 2 * W + h * dh,
                               ldb: ld, c: out + first * T * W + h * dh, ldc: W)
                }
            }
            for b in 0..<s.batch {
                let v = qkv + b * T * ld + 2 * W + h * dh, p = ph + b * T * Tk + P, o = out + b * T * W + h * dh
                if s.ownByLoops {
                    for i in 0..<T {
                        let oi = o + i * W
                        if P == 0 { oi.update(repeating: 0, count: dh) }
                        let visible = s.causal ? i + 1 : T
                        for j in 0..<visible { axpy(p[i * Tk + j], v + j * ld, oi, dh) }
                    }
                } else {
                    GEMM.sgemm(m: T, n: dh, k: T, a: p, lda: Tk, b: v, ldb: ld, beta: P > 0 ? 1 : 0, c: o, ldc: W)
                }
            }
        } }
    }

    /// Gradients of `forward`: dqkv[B, T, 3W] is overwritten; the prefixes' K and V gradients
    /// (`dPrefixQKV`, `[G, P, 3W]`) are **accumulated** over their sequences (Q parts untouched).
    public static func backward(dqkv: UnsafeMutablePointer<Float>, dPrefixQKV: UnsafeMutablePointer<Float>? = nil,
                                dout: UnsafePointer<Float>, qkv: UnsafePointer<Float>, prefixQKV: UnsafePointer<Float>? = nil,
                                probs: UnsafePointer<Float>, shape s: Shape) {
        let W = s.width, dh = s.headDim, T = s.length, P = s.prefix, Tk = s.keys, ld = 3 * W
        let scale = 1 / Float(dh).squareRoot()
        let rows = s.batch * T
        // heads are independent (each writes its own columns of dqkv and dPrefixQKV): one range per thread
        Parallel.ranges(s.heads, work: s.heads * rows * Tk * dh) { heads in
            let dp = UnsafeMutablePointer<Float>.allocate(capacity: max(rows * Tk, 1))   // [B·T, Tk], one head at a time
            defer { dp.deallocate() }
            for h in heads {
                let ph = probs + h * rows * Tk
                // dP = dO · [Vp; V]ᵀ
                if P > 0, let pre = prefixQKV {
                    forEachGroup(s) { g, first, count in
                        GEMM.sgemm(transB: true, m: count * T, n: P, k: dh, a: dout + first * T * W + h * dh, lda: W,
                                   b: pre + g * P * ld + 2 * W + h * dh, ldb: ld, c: dp + first * T * Tk, ldc: Tk)
                    }
                }
                for b in 0..<s.batch {
                    let dO = dout + b * T * W + h * dh, v = qkv + b * T * ld + 2 * W + h * dh, d = dp + b * T * Tk + P
                    let p = ph + b * T * Tk + P, dv = dqkv + b * T * ld + 2 * W + h * dh
                    if s.ownByLoops {
                        for i in 0..<T {
                            let visible = s.causal ? i + 1 : T
                            for j in 0..<visible { d[i * Tk + j] = Reduce.dot(dO + i * W, v + j * ld, count: dh) }
                            for j in visible..<T { d[i * Tk + j] = 0 }
                        }
                        // dV_own = P_ownᵀ · dO
                        for j in 0..<T { (dv + j * ld).update(repeating: 0, count: dh) }
                        for i in 0..<T {
                            let visible = s.causal ? i + 1 : T
                            for j in 0..<visible { axpy(p[i * Tk + j], dO + i * W, dv + j * ld, dh) }
                        }
                    } else {
                        GEMM.sgemm(transB: true, m: T, n: T, k: dh, a: dO, lda: W, b: v, ldb: ld, c: d, ldc: Tk)
                        GEMM.sgemm(transA: true, m: T, n: dh, k: T, a: p, lda: Tk, b: dO, ldb: W, c: dv, ldc: ld)
                    }
                }
                // dVp += P_prefixᵀ · dO (per group)
                if P > 0, let dpre = dPrefixQKV {
                    forEachGroup(s) { g, first, count in
                        GEMM.sgemm(transA: true, m: P, n: dh, k: count * T, a: ph + first * T * Tk, lda: Tk,
                                   b: dout + first * T * W + h * dh,
                                   ldb: W, beta: 1, c: dpre + g * P * ld + 2 * W + h * dh, ldc: ld)
                    }
                }
                // dS = scale · P ⊙ (dP − rowsum(dP ⊙ P))   (masked entries have P = 0)
                for r in 0..<rows {
                    let pr = ph + r * Tk, dr = dp + r * Tk
                    let total = Reduce.dot(pr, dr, count: Tk)
                    for j in 0..<Tk { dr[j] = scale * pr[j] * (dr[j] - total) }
                }
                // dQ = dS_prefix · Kp + dS_own · K;  dK = dS_ownᵀ · Q;  dKp += dS_prefixᵀ · Q
                if P > 0, let pre = prefixQKV {
                    forEachGroup(s) { g, first, count in
                        GEMM.sgemm(m: count * T, n: dh, k: P, a: dp + first * T * Tk, lda: Tk, b: pre + g * P * ld + W + h * dh,
                                   ldb: ld, c: dqkv + first * T * ld + h * dh, ldc: ld)
                    }
                }
                if P > 0, let dpre = dPrefixQKV {
                    forEachGroup(s) { g, first, count in
                        GEMM.sgemm(transA: true, m: P, n: dh, k: count * T, a: dp + first * T * Tk, lda: Tk,
                                   b: qkv + first * T * ld + h * dh, ldb: ld, beta: 1, c: dpre + g * P * ld + W + h * dh, ldc: ld)
                    }
                }
                for b in 0..<s.batch {
                    let q = qkv + b * T * ld + h * dh, k = q + W, d = dp + b * T * Tk + P
                    let dq = dqkv + b * T * ld + h * dh, dk = dq + W
                    if s.ownByLoops {
                        if P == 0 { for i in 0..<T { (dq + i * ld).update(repeating: 0, count: dh) } }
                        for j in 0..<T { (dk + j * ld).update(repeating: 0, count: dh) }
                        for i in 0..<T {
                            let visible = s.causal ? i + 1 : T
                            for j in 0..<visible {
                                let g = d[i * Tk + j]
                                axpy(g, k + j * ld, dq + i * ld, dh)
                                axpy(g, q + i * ld, dk + j * ld, dh)
                            }
                        }
                    } else {
                        GEMM.sgemm(m: T, n: dh, k: T, a: d, lda: Tk, b: k, ldb: ld, beta: P > 0 ? 1 : 0, c: dq, ldc: ld)
                        GEMM.sgemm(transA: true, m: T, n: dh, k: T, a: d, lda: Tk, b: q, ldb: ld, c: dk, ldc: ld)
                    }
                }
            }
        }
    }

    /// Calls `body(group, firstSequence, sequenceCount)` for each prefix group of the batch.
    @inline(__always)
    static func forEachGroup(_ s: Shape, _ body: (Int, Int, Int) -> Void) {
        var first = 0
        while first < s.batch {
            body(first / s.groupSize, first, min(s.groupSize, s.batch - first))
            first += s.groupSize
        }
    }

    /// y += a·x
    @inline(__always)
    static func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] += a * x[i] }
    }

    /// Row-wise softmax in place; with `causal`, row i of each sequence (`rowsPerSequence` rows)
    /// keeps columns `0 ..< ownStart + i + 1` and zeroes the rest.
    public static func softmaxRows(_ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ownStart: Int, causal: Bool,
                                   rowsPerSequence: Int? = nil) {
        let period = rowsPerSequence ?? rows
        for r in 0..<rows {
            let row = p + r * cols
            let visible = causal ? ownStart + (r % period) + 1 : cols
            let m = Reduce.max(row, count: visible)
            for j in 0..<visible { row[j] = FastExp.exp(row[j] - m) }
            let inv = 1 / Reduce.sum(row, count: visible)
            for j in 0..<visible { row[j] *= inv }
            for j in visible..<cols { row[j] = 0 }
        }
    }
}
