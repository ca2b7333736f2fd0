import Kernels

/// Forward (keeping activations) and backward of `G` shared prompt prefixes `[G, P, W]` through
/// the frozen text transformer: CoOp's SOT + context (G = 1) or CoCoOp's per-image SOT + shifted
/// context (G = images). Under the causal mask the prefix never sees its suffixes, so it is computed
/// once; suffix passes read its per-layer keys/values and accumulate their gradients into `dQKV`
/// (or into accumulators of their own, one set per loss, when one forward serves several backwards).
public final class PrefixPass {
    public let groups: Int
    public let length: Int
    let encoder: TextTransformer
    let shape: Attention.Shape
    let caches: [BlockActivations]   // per layer, [G·P] positions
    let scratch: BlockScratch
    /// Per layer `[G, P, 3W]`: gradients w.r.t. the prefix's q/k/v summed over every suffix pass
    /// (the default accumulators; allocated on first use).
    lazy var dQKV: [Tensor] = gradientAccumulators()

    /// Runs `embeddings` (`[G, P, W]`, token embeddings without positions) through every layer.
    public init(encoder: TextTransformer, embeddings: UnsafePointer<Float>, groups: Int, length: Int,
                workspace: BlockWorkspace? = nil) {
        self.encoder = encoder; self.groups = groups; self.length = length
        let W = encoder.width
        let shape = Attention.Shape(batch: groups, length: length, width: W, heads: encoder.heads, causal: true)
        self.shape = shape
        caches = workspace?.activations(for: shape, layers: encoder.blocks.count)
            ?? encoder.blocks.map { _ in BlockActivations(shape: shape) }
        let x = Tensor(uninitializedShape: [groups, length, W])
        x.data.update(from: embeddings, count: x.count)
        encoder.addPositions(x.data, batch: groups, length: length, offset: 0)
        let scratch = workspace?.scratch(for: shape) ?? BlockScratch(shape: shape)
        scratch.products.bf16 = encoder.bf16
        self.scratch = scratch
        for (l, block) in encoder.blocks.enumerated() {
            block.forward(x.data, shape: shape, cache: caches[l], scratch: scratch)
        }
    }

    /// Layer `l`'s q/k/v projections of the prefixes, `[G, P, 3W]`.
    func projections(layer l: Int) -> UnsafePointer<Float> { UnsafePointer(caches[l].projections) }

    /// Zeroed per-layer accumulators `[G, P, 3W]` for the prefix's q/k/v gradients of one loss: hand
    /// them to `SuffixPass.backward(dFeatures:prefixGradients:)` and then to `backward(accumulated:)`.
    /// Backward reads but never writes the kept activations, so one forward can serve several losses.
    public func gradientAccumulators() -> [Tensor] {
        encoder.blocks.map { _ in Tensor(shape: [groups, length, 3 * encoder.width]) }
    }

    /// dL/d(prefix embeddings) `[G, P, W]` from the key/value gradients the suffix passes accumulated
    /// into `accumulated` (default: the pass's own `dQKV`).
    public func backward(accumulated: [Tensor]? = nil) -> Tensor {
        let dQKV = accumulated ?? self.dQKV
        let dx = Tensor(shape: [groups, length, encoder.width])
        for l in encoder.blocks.indices.reversed() {
            encoder.blocks[l].backward(dx.data, shape: shape, cache: caches[l], extraDQKV: dQKV[l].data, scratch: scratch)
        }
        return dx
    }
}

/// Forward and backward of `N` prompt suffixes `[N, S, W]` (positions `P ..< P+S` after an optional
/// `PrefixPass`) through the text transformer, pooled at each one's EOT into features `[N, D]`.
/// Without a prefix this is the plain batched path (whole prompts, cut after the last EOT).
/// With `keepActivations: false` it is inference only (chunked recomputation runs it twice).
public final class SuffixPass {
    public let count: Int
    public let length: Int
    /// Text features `[N, D]`, not normalised.
    public let features: Tensor
    let encoder: TextTransformer
    let prefix: PrefixPass?
    let shape: Attention.Shape
    let eots: [Int]
    let caches: [BlockActivations]
    let pooledInput: Tensor, pooledMean: Tensor, pooledRstd: Tensor   // [N, W], [N], [N]
    let prefixOffset: Int                                             // firstGroup·P·3W
    let scratch: BlockScratch

    /// `eots[n]` is the EOT's index within suffix n (0 ..< S). Suffix n belongs to prefix group
    /// `firstGroup + n / groupSize` (default: all prefix groups, split evenly), so a chunk of the
    /// suffixes can run against its own groups only.
    public init(encoder: TextTransformer, prefix: PrefixPass? = nil, firstGroup: Int = 0, groupSize: Int? = nil,
                embeddings: UnsafePointer<Float>, count: Int, length: Int, eots: [Int], keepActivations: Bool,
                workspace: BlockWorkspace? = nil) {
        precondition(eots.count == count && eots.allSatisfy { $0 >= 0 && $0 < length }, "EOT outside the suffix")
        self.encoder = encoder; self.prefix = prefix; self.count = count; self.length = length; self.eots = eots
        let W = encoder.width, P = prefix?.length ?? 0
        let size = groupSize ?? prefix.map { count / $0.groups } ?? count
        precondition(prefix == nil || firstGroup + (count + size - 1) / size <= prefix!.groups, "suffixes beyond the prefix groups")
        let prefixOffset = firstGroup * P * 3 * W
        self.prefixOffset = prefixOffset
        let shape = Attention.Shape(batch: count, length: length, prefix: P, width: W, heads: encoder.heads, causal: true,
                                    groupSize: size)
        self.shape = shape
        let caches = !keepActivations ? []
            : workspace?.activations(for: shape, layers: encoder.blocks.count) ?? encoder.blocks.map { _ in BlockActivations(shape: shape) }
        self.caches = caches
        let x = Tensor(uninitializedShape: [count, length, W])                      // [N, S, W]
        x.data.update(from: embeddings, count: x.count)
        encoder.addPositions(x.data, batch: count, length: length, offset: P)
        let scratch = workspace?.scratch(for: shape) ?? BlockScratch(shape: shape)
        scratch.products.bf16 = encoder.bf16
        self.scratch = scratch
        for (l, block) in encoder.blocks.enumerated() {
            block.forward(x.data, shape: shape, prefixQKV: prefix.map { $0.projections(layer: l) + prefixOffset },
                          cache: keepActivations ? caches[l] : nil, scratch: scratch)
        }
        pooledInput = Tensor(shape: [count, W])
        pooledMean = Tensor(shape: [count])
        pooledRstd = Tensor(shape: [count])
        for n in 0..<count { (pooledInput.data + n * W).update(from: x.data + (n * length + eots[n]) * W, count: W) }
        let normed = Tensor(shape: [count, W])
        LayerNorm.forward(normed.data, pooledInput.data, gamma: encoder.lnFinalGamma.data, beta: encoder.lnFinalBeta.data,
                          mean: pooledMean.data, rstd: pooledRstd.data, rows: count, dim: W)
        features = Tensor(shape: [count, encoder.embedDim])
        GEMM.sgemm(m: count, n: encoder.embedDim, k: W, a: normed.data, lda: W, b: encoder.textProjection.data,
                   ldb: encoder.embedDim, c: features.data, ldc: encoder.embedDim)
    }

    /// dL/d(suffix embeddings) `[N, S, W]` from dL/d(features) `[N, D]`; adds the prefix's share into
    /// `prefixGradients` (default `prefix.dQKV`; call `prefix.backward` with the same accumulators after
    /// every suffix pass of the step). The kept activations are only read: it may run again for another loss.
    public func backward(dFeatures: UnsafePointer<Float>, prefixGradients: [Tensor]? = nil) -> Tensor {
        precondition(!caches.isEmpty, "SuffixPass.backward needs keepActivations: true")
        let W = encoder.width, D = encoder.embedDim
        let dNormed = Tensor(shape: [count, W])
        GEMM.sgemm(transB: true, m: count, n: W, k: D, a: dFeatures, lda: D, b: encoder.textProjection.data, ldb: D,
                   c: dNormed.data, ldc: W)
        let dPooled = Tensor(shape: [count, W])
        LayerNorm.backward(dPooled.data, dNormed.data, pooledInput.data, gamma: encoder.lnFinalGamma.data,
                           mean: pooledMean.data, rstd: pooledRstd.data, rows: count, dim: W)
        let dx = Tensor(shape: [count, length, W])
        for n in 0..<count { (dx.data + (n * length + eots[n]) * W).update(from: dPooled.data + n * W, count: W) }
        for l in encoder.blocks.indices.reversed() {
            encoder.blocks[l].backward(dx.data, shape: shape, cache: caches[l],
                                       prefixQKV: prefix.map { $0.projections(layer: l) + prefixOffset },
                                       dPrefixQKV: prefix.map { (prefixGradients ?? $0.dQKV)[l].data + prefixOffset },
                                       scratch: scratch)
        }
        return dx
    }
}
