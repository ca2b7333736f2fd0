import Kernels

/// Forward and backward of prompts through the frozen text tower: `G` shared prefixes `[G, P, W]`
/// (CoOp's SOT + context, G = 1; CoCoOp's per-image SOT + shifted context, G = images) and their
/// suffixes in chunks, each chunk one `SuffixPass`. Under the causal mask a prefix never sees its
/// suffixes, so it runs once; every chunk reads its per-layer keys/values, and backward adds each
/// chunk's key/value gradients into accumulators of its own before the prefix's backward: both
/// directions stay inside this type. With `keepActivations: false` forward keeps only the features
/// and backward runs each chunk again, from the embeddings kept here, with its activations
/// (docs/DESIGN.md "Memory budget"). Made by `PromptTextEncoder` for every tuner step.
public final class PromptPass {
    /// One pass's suffixes: `[n, L, W]` token embeddings (no positions) of one length `L`.
    /// Sequence i attends to prefix group `firstGroup + i / groupSize`, pools at `eots[i]` (< L)
    /// and fills row `rows[i]` of the pass's features.
    public struct Chunk {
        public let embeddings: Tensor
        public let eots: [Int]
        public let firstGroup: Int, groupSize: Int
        public let rows: [Int]

        public init(embeddings: Tensor, eots: [Int], firstGroup: Int, groupSize: Int, rows: [Int]) {
            self.embeddings = embeddings; self.eots = eots; self.firstGroup = firstGroup; self.groupSize = groupSize
            self.rows = rows
        }

        public var count: Int { embeddings.shape[0] }
        public var length: Int { embeddings.shape[1] }
    }

    /// Buffers kept from pass to pass (a pass is valid until the next one borrows them): the prefix's,
    /// each chunk's when every activation is kept, and the one-layer scratch of passes that keep
    /// nothing. Also counts suffix passes, forward or recomputed (tests: losses share one forward).
    public final class Buffers {
        let prefix = BlockWorkspace()
        private var kept: [BlockWorkspace] = []
        let inference = BlockWorkspace()
        public internal(set) var suffixPassesRun = 0

        public init() {}

        /// The buffers chunk `index` keeps its activations in.
        func kept(_ index: Int) -> BlockWorkspace {
            while kept.count <= index { kept.append(BlockWorkspace()) }
            return kept[index]
        }
    }

    /// Text features `[rows, D]`, not normalised, in the order the chunks' `rows` give.
    public let features: Tensor
    let encoder: TextTransformer
    let prefix: PrefixPass
    let chunks: [Chunk]
    let kept: [SuffixPass]?          // every chunk's activations, when they are kept
    let buffers: Buffers

    /// Runs `prefix` (`[G, P, W]`) and then every chunk against it; `rows` features in all.
    public init(encoder: TextTransformer, prefix: Tensor, chunks: [Chunk], rows: Int, keepActivations: Bool,
                buffers: Buffers) {
        self.encoder = encoder; self.chunks = chunks; self.buffers = buffers
        let D = encoder.embedDim
        let prefixPass = PrefixPass(encoder: encoder, embeddings: prefix.data, groups: prefix.shape[0], length: prefix.shape[1],
                                    workspace: buffers.prefix)
        self.prefix = prefixPass
        features = Tensor(uninitializedShape: [rows, D])
        var kept: [SuffixPass] = []
        for (c, chunk) in chunks.enumerated() {
            let pass = PromptPass.run(chunk, encoder: encoder, prefix: prefixPass, keepActivations: keepActivations,
                                      workspace: keepActivations ? buffers.kept(c) : buffers.inference, buffers: buffers)
            for (i, row) in chunk.rows.enumerated() {
                (features.data + row * D).update(from: pass.features.data + i * D, count: D)
            }
            if keepActivations { kept.append(pass) }
        }
        self.kept = keepActivations ? kept : nil
    }

    /// One chunk through every layer, after the prefix.
    private static func run(_ chunk: Chunk, encoder: TextTransformer, prefix: PrefixPass, keepActivations: Bool,
                            workspace: BlockWorkspace?, buffers: Buffers) -> SuffixPass {
        buffers.suffixPassesRun += 1
        return SuffixPass(encoder: encoder, prefix: prefix, firstGroup: chunk.firstGroup, groupSize: chunk.groupSize,
                          embeddings: chunk.embeddings.data, count: chunk.count, length: chunk.length, eots: chunk.eots,
                          keepActivations: keepActivations, workspace: workspace)
    }

    /// For each seed dL/d(features) `[rows, D]`: dL/d(prefix embeddings) `[G, P, W]` and dL/d(each
    /// chunk's embeddings) `[n, L, W]`, in chunk order. Every chunk — kept, or recomputed once for
    /// all seeds (fresh buffers, freed after it) — runs its backward per seed into that seed's own
    /// prefix key/value accumulators, so seeds never mix. Only reads what forward kept: a pass may
    /// run backward again.
    public func backward(dFeatures seeds: [Tensor]) -> [(prefix: Tensor, suffixes: [Tensor])] {
        let D = encoder.embedDim
        let accumulators = seeds.map { _ in prefix.gradientAccumulators() }   // per seed, [G, P, 3W] per layer
        var dSuffixes = seeds.map { _ in [Tensor]() }
        for (c, chunk) in chunks.enumerated() {
            let pass = kept?[c] ?? PromptPass.run(chunk, encoder: encoder, prefix: prefix, keepActivations: true,
                                                  workspace: nil, buffers: buffers)
            let dChunk = Tensor(uninitializedShape: [chunk.count, D])
            for (s, seed) in seeds.enumerated() {
                for (i, row) in chunk.rows.enumerated() {
                    (dChunk.data + i * D).update(from: seed.data + row * D, count: D)
                }
                dSuffixes[s].append(pass.backward(dFeatures: dChunk.data, prefixGradients: accumulators[s]))
            }
        }
        return seeds.indices.map { (prefix.backward(accumulated: accumulators[$0]), dSuffixes[$0]) }
    }
}

/// Forward (keeping activations) and backward of `G` prompt prefixes `[G, P, W]` through the text
/// transformer, for `PromptPass`: its suffixes read the per-layer q/k/v projections (`projections`)
/// and their backward adds into accumulators (`gradientAccumulators`) that `backward` then takes.
final class PrefixPass {
    let groups: Int
    let length: Int
    let encoder: TextTransformer
    let shape: Attention.Shape
    let caches: [BlockActivations]   // per layer, [G·P] positions
    let scratch: BlockScratch

    /// Runs `embeddings` (`[G, P, W]`, token embeddings without positions) through every layer.
    init(encoder: TextTransformer, embeddings: UnsafePointer<Float>, groups: Int, length: Int, workspace: BlockWorkspace) {
        self.encoder = encoder; self.groups = groups; self.length = length
        let W = encoder.width
        let shape = Attention.Shape(batch: groups, length: length, width: W, heads: encoder.heads, causal: true)
        self.shape = shape
        caches = workspace.activations(for: shape, layers: encoder.blocks.count)
        let x = Tensor(uninitializedShape: [groups, length, W])
        x.data.update(from: embeddings, count: x.count)
        encoder.addPositions(x.data, batch: groups, length: length, offset: 0)
        scratch = workspace.scratch(for: shape)
        for (l, block) in encoder.blocks.enumerated() {
            block.forward(x.data, shape: shape, cache: caches[l], scratch: scratch)
        }
    }

    /// Layer `l`'s q/k/v projections of the prefixes, `[G, P, 3W]`.
    func projections(layer l: Int) -> UnsafePointer<Float> { UnsafePointer(caches[l].projections) }

    /// Zeroed per-layer accumulators `[G, P, 3W]` for the q/k/v gradients of one loss.
    func gradientAccumulators() -> [Tensor] {
        encoder.blocks.map { _ in Tensor(shape: [groups, length, 3 * encoder.width]) }
    }

    /// dL/d(prefix embeddings) `[G, P, W]` from the key/value gradients the suffixes accumulated.
    func backward(accumulated dQKV: [Tensor]) -> Tensor {
        let dx = Tensor(shape: [groups, length, encoder.width])
        for l in encoder.blocks.indices.reversed() {
            encoder.blocks[l].backward(dx.data, shape: shape, cache: caches[l], extraDQKV: dQKV[l].data, scratch: scratch)
        }
        return dx
    }
}

/// Forward and backward of `N` sequences `[N, S, W]` (positions `P ..< P+S` after an optional
/// `PrefixPass`) through the text transformer, pooled at each one's EOT into features `[N, D]`:
/// `ln_final`, then `text_projection`. Without a prefix this is the plain batched path
/// (`TextTransformer.encode`: whole prompts, cut after the last EOT). With `keepActivations: false`
/// it is inference only.
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

    /// `eots[n]` is the EOT's index within sequence n (0 ..< S). With a prefix, sequence n belongs
    /// to prefix group `firstGroup + n / groupSize` (default: all prefix groups, split evenly).
    init(encoder: TextTransformer, prefix: PrefixPass?, firstGroup: Int = 0, groupSize: Int? = nil,
         embeddings: UnsafePointer<Float>, count: Int, length: Int, eots: [Int], keepActivations: Bool,
         workspace: BlockWorkspace?) {
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
        self.scratch = scratch
        for (l, block) in encoder.blocks.enumerated() {
            block.forward(x.data, shape: shape, prefixQKV: prefix.map { $0.projections(layer: l) + prefixOffset },
                          cache: keepActivations ? caches[l] : nil, scratch: scratch)
        }
        // head: pooled = x[n, eot_n] [N, W] → ln_final → · text_projection [W, D]
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

    /// A plain pass (no prefix) over `count` whole sequences.
    public convenience init(encoder: TextTransformer, embeddings: UnsafePointer<Float>, count: Int, length: Int, eots: [Int],
                            keepActivations: Bool) {
        self.init(encoder: encoder, prefix: nil, embeddings: embeddings, count: count, length: length, eots: eots,
                  keepActivations: keepActivations, workspace: nil)
    }

    /// dL/d(sequence embeddings) `[N, S, W]` from dL/d(features) `[N, D]`. With a prefix, the
    /// gradients w.r.t. its keys/values are added into `prefixGradients` (per layer `[G, P, 3W]`,
    /// from `PrefixPass.gradientAccumulators`). Only reads the kept activations: it may run again.
    func backward(dFeatures: UnsafePointer<Float>, prefixGradients: [Tensor]? = nil) -> Tensor {
        precondition(!caches.isEmpty, "SuffixPass.backward needs keepActivations: true")
        precondition((prefix == nil) == (prefixGradients == nil), "prefix key/value gradients go with a prefix")
        let W = encoder.width, D = encoder.embedDim
        // head: dnormed = dfeatures · text_projectionᵀ [N, W] → ln_final backward → x[n, eot_n]
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
                                       dPrefixQKV: prefixGradients.map { $0[l].data + prefixOffset },
                                       scratch: scratch)
        }
        return dx
    }
}
