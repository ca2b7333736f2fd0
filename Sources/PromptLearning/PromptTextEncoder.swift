import CLIP
import Kernels

/// Text features of every class prompt built from learned context vectors, and their gradient
/// back to the context: the frozen text transformer run with the shared prefix once per group
/// (docs/DESIGN.md "Shared prefix"), every suffix cut near its EOT — suffixes are bucketed by length,
/// one pass per bucket, so little padding remains ("EOT cut") — activation gradients only ("Activation
/// gradients only"), and, when the activations of all passes would exceed `memoryBudget`, passes of
/// bounded size whose activations are recomputed for backward ("Memory budget": peak memory
/// independent of K). Groups are CoCoOp's images ("CoCoOp prefix groups"): group g uses
/// `ctx + shift_g` (G = 1 and no shift for CoOp).
public final class PromptTextEncoder {
    public let encoder: TextTransformer
    public let layout: PromptLayout
    public let classes: Int
    /// Bytes of activations the passes of one step may keep (default 3 GiB).
    public var memoryBudget: Int
    /// Most suffix sequences one pass runs; nil: as many as `memoryBudget` allows.
    public var chunkSize: Int?
    let rowEmbeddings: [Int32: Tensor]   // fixed tokens' embeddings, [W] each
    /// Fewest positions a length bucket gathers before a longer suffix opens the next one.
    public var bucketRows = 384
    /// Buffers reused from step to step (a `Step` is valid until the next `forward`): the prefix's,
    /// each chunk's when all activations are kept, and the one-layer scratch of passes that keep
    /// nothing (over the budget, where backward recomputes each chunk into fresh buffers).
    let prefixWorkspace = BlockWorkspace()
    var suffixWorkspaces: [BlockWorkspace] = []
    let passWorkspace = BlockWorkspace()
    /// Suffix passes run so far, forward or recomputed for backward (tests: a step's losses share one forward).
    var suffixPassesRun = 0

    public init(encoder: TextTransformer, layout: PromptLayout, chunkSize: Int? = nil, memoryBudget: Int = 3 << 30) {
        self.encoder = encoder; self.layout = layout; self.classes = layout.suffixes.count
        self.chunkSize = chunkSize.map { max($0, 1) }
        self.memoryBudget = memoryBudget
        var rows: [Int32: Tensor] = [:]
        for row in layout.prefix + layout.suffixes.flatMap({ $0 }) {
            if case .token(let id) = row, rows[id] == nil {
                let t = Tensor(shape: [encoder.width])
                encoder.embedTokens([id][...], into: t.data)
                rows[id] = t
            }
        }
        rowEmbeddings = rows

    }

    /// Suffixes sorted by length, cut into buckets of at least `bucketRows` positions: a bucket
    /// pads to its longest member, so padding stays small while every GEMM keeps enough rows.
    var buckets: [(length: Int, classes: [Int])] {
        let order = (0..<classes).sorted { (layout.suffixes[$0].count, $0) < (layout.suffixes[$1].count, $1) }
        var buckets: [(length: Int, classes: [Int])] = []
        var current: [Int] = []
        for (i, k) in order.enumerated() {
            current.append(k)
            let length = layout.suffixes[k].count
            let nextLonger = i + 1 < order.count && layout.suffixes[order[i + 1]].count > length
            if i + 1 == order.count || (nextLonger && current.count * length >= bucketRows) {
                buckets.append((length, current.sorted()))
                current = []
            }
        }
        return buckets
    }

    /// Context vectors per class: M·W floats, `[K, M, W]` when class-specific else `[M, W]`.
    public var contextCount: Int { (layout.classSpecific ? classes : 1) * layout.contextLength * encoder.width }

    /// One pass: `groups` consecutive prefix groups × `members` classes of one suffix length.
    struct Chunk {
        let firstGroup: Int, groups: Int
        let members: [Int]
        let length: Int
        var count: Int { groups * members.count }
    }

    /// One forward pass over all groups × classes, kept until `backward` (and valid only until the
    /// encoder's next `forward`, which reuses its buffers).
    public final class Step {
        /// `[G·K, D]` text features, not normalised (group-major: row g·K + k).
        public let features: Tensor
        let owner: PromptTextEncoder
        let context: Tensor, shifts: Tensor?
        let groups: Int
        let prefixPass: PrefixPass
        let chunks: [Chunk]
        let keptPasses: [SuffixPass]?       // every chunk's activations, when they fit the budget

        init(owner: PromptTextEncoder, context: Tensor, shifts: Tensor?, groups: Int, features: Tensor,
             prefixPass: PrefixPass, chunks: [Chunk], keptPasses: [SuffixPass]?) {
            self.owner = owner; self.context = context; self.shifts = shifts; self.groups = groups
            self.features = features; self.prefixPass = prefixPass; self.chunks = chunks; self.keptPasses = keptPasses
        }

        /// dL/d(context) (same layout as the context) and dL/d(shifts) `[G, W]` from dL/d(features).
        public func backward(dFeatures: Tensor) -> (context: Tensor, shifts: Tensor?) {
            backward(dFeatures: [dFeatures])[0]
        }

        /// One backward per seed `[G·K, D]` (several losses of one forward, e.g. ProGrad's cross-entropy
        /// and distillation): every chunk's pass — kept, or recomputed once when over the budget — runs
        /// its backward for each seed, and the prefix gets its own key/value accumulators per seed, so the
        /// seeds never mix. Backward only reads the kept activations: a step may also call this again.
        public func backward(dFeatures seeds: [Tensor]) -> [(context: Tensor, shifts: Tensor?)] {
            let o = owner, W = o.encoder.width, D = o.encoder.embedDim, K = o.classes
            let dContexts = seeds.map { _ in Tensor(shape: context.shape) }
            let dShifts = seeds.map { _ in shifts.map { _ in Tensor(shape: [groups, W]) } }
            let accumulators = seeds.map { _ in prefixPass.gradientAccumulators() }   // per seed, [G, P, 3W] per layer
            for (c, chunk) in chunks.enumerated() {
                // recomputed: fresh buffers, freed after this chunk, so peak memory stays one chunk's
                let pass = keptPasses?[c] ?? o.suffixPass(chunk, context: context, shifts: shifts, prefix: prefixPass,
                                                          keep: true, workspace: nil)
                let dChunk = Tensor(uninitializedShape: [chunk.count, D])
                for (s, seed) in seeds.enumerated() {
                    for (i, (g, k)) in o.sequences(chunk).enumerated() {
                        (dChunk.data + i * D).update(from: seed.data + (g * K + k) * D, count: D)
                    }
                    let dx = pass.backward(dFeatures: dChunk.data, prefixGradients: accumulators[s])
                    for (i, (g, k)) in o.sequences(chunk).enumerated() {
                        for (t, row) in o.layout.suffixes[k].enumerated() {
                            guard case .context(let m) = row else { continue }
                            o.accumulate(dx.data + (i * pass.length + t) * W, classIndex: k, context: m, group: g,
                                         into: dContexts[s], shifts: dShifts[s])
                        }
                    }
                }
            }
            for s in seeds.indices {
                let dPrefix = prefixPass.backward(accumulated: accumulators[s])
                for g in 0..<groups {
                    for (t, row) in o.layout.prefix.enumerated() {
                        guard case .context(let m) = row else { continue }
                        o.accumulate(dPrefix.data + (g * o.layout.prefix.count + t) * W, classIndex: 0, context: m, group: g,
                                     into: dContexts[s], shifts: dShifts[s])
                    }
                }
            }
            return zip(dContexts, dShifts).map { ($0, $1) }
        }
    }

    /// Runs every prompt: `context` `[M, W]` or `[K, M, W]`; `shifts` `[G, W]` (CoCoOp) or nil (G = 1).
    public func forward(context: Tensor, shifts: Tensor? = nil) -> Step {
        precondition(context.count == contextCount, "context has \(context.count) values, expected \(contextCount)")
        let G = shifts?.shape[0] ?? 1, K = classes, W = encoder.width, D = encoder.embedDim, P = layout.prefix.count
        let prefix = Tensor(uninitializedShape: [G, P, W])
        for g in 0..<G {
            for (t, row) in layout.prefix.enumerated() {
                fill(prefix.data + (g * P + t) * W, row: row, classIndex: 0, group: g, context: context, shifts: shifts)
            }
        }
        let prefixPass = PrefixPass(encoder: encoder, embeddings: prefix.data, groups: G, length: P, workspace: prefixWorkspace)
        let (chunks, keep) = plan(groups: G)
        let features = Tensor(uninitializedShape: [G * K, D])
        var kept: [SuffixPass] = []
        for (c, chunk) in chunks.enumerated() {
            let pass = suffixPass(chunk, context: context, shifts: shifts, prefix: prefixPass, keep: keep,
                                  workspace: keep ? keptWorkspace(c) : passWorkspace)
            for (i, (g, k)) in sequences(chunk).enumerated() {
                (features.data + (g * K + k) * D).update(from: pass.features.data + i * D, count: D)
            }
            if keep { kept.append(pass) }
        }
        return Step(owner: self, context: context, shifts: shifts, groups: G, features: features,
                    prefixPass: prefixPass, chunks: chunks, keptPasses: keep ? kept : nil)
    }

    /// Activation bytes one suffix sequence of `length` tokens keeps over all layers.
    func bytesPerSequence(length L: Int) -> Int {
        let W = encoder.width, H = encoder.heads, P = layout.prefix.count
        return 4 * encoder.blocks.count * L * (16 * W + 4 + H * (P + L))
    }

    /// The passes of a step and whether all their activations fit the budget (else: recompute).
    func plan(groups G: Int) -> (chunks: [Chunk], keep: Bool) {
        var chunks: [Chunk] = []
        var total = 0
        for (length, members) in buckets {
            let perPass = max(1, chunkSize ?? memoryBudget / max(bytesPerSequence(length: length), 1))
            total += G * members.count * bytesPerSequence(length: length)
            if members.count <= perPass {
                let groupsPerPass = max(perPass / members.count, 1)
                for g in stride(from: 0, to: G, by: groupsPerPass) {
                    chunks.append(Chunk(firstGroup: g, groups: min(groupsPerPass, G - g), members: members, length: length))
                }
            } else {
                for g in 0..<G {
                    for start in stride(from: 0, to: members.count, by: perPass) {
                        chunks.append(Chunk(firstGroup: g, groups: 1, members: Array(members[start..<min(members.count, start + perPass)]),
                                            length: length))
                    }
                }
            }
        }
        return (chunks, total <= memoryBudget)
    }

    /// (group, class) of each sequence of a chunk, in pass order.
    func sequences(_ chunk: Chunk) -> [(Int, Int)] {
        (0..<chunk.groups).flatMap { gi in chunk.members.map { (chunk.firstGroup + gi, $0) } }
    }

    /// The buffers chunk `index` keeps its activations in when every pass is kept (reused by the next step).
    private func keptWorkspace(_ index: Int) -> BlockWorkspace {
        while suffixWorkspaces.count <= index { suffixWorkspaces.append(BlockWorkspace()) }
        return suffixWorkspaces[index]
    }

    /// Builds and runs the suffixes of one chunk.
    func suffixPass(_ chunk: Chunk, context: Tensor, shifts: Tensor?, prefix: PrefixPass, keep: Bool,
                    workspace: BlockWorkspace?) -> SuffixPass {
        suffixPassesRun += 1
        let W = encoder.width, L = chunk.length
        let x = Tensor(shape: [chunk.count, L, W])          // rows after a shorter suffix's EOT stay 0: never attended
        var eots: [Int] = []
        for (i, (g, k)) in sequences(chunk).enumerated() {
            for (t, row) in layout.suffixes[k].enumerated() {
                fill(x.data + (i * L + t) * W, row: row, classIndex: k, group: g, context: context, shifts: shifts)
            }
            eots.append(layout.suffixes[k].count - 1)
        }
        return SuffixPass(encoder: encoder, prefix: prefix, firstGroup: chunk.firstGroup, groupSize: chunk.members.count,
                          embeddings: x.data, count: chunk.count, length: L, eots: eots,
                          keepActivations: keep, workspace: workspace)
    }

    private func contextOffset(classIndex k: Int, context m: Int) -> Int {
        ((layout.classSpecific ? k : 0) * layout.contextLength + m) * encoder.width
    }

    private func fill(_ out: UnsafeMutablePointer<Float>, row: PromptRow, classIndex k: Int, group g: Int,
                      context: Tensor, shifts: Tensor?) {
        let W = encoder.width
        switch row {
        case .token(let id):
            out.update(from: rowEmbeddings[id]!.data, count: W)
        case .context(let m):
            out.update(from: context.data + contextOffset(classIndex: k, context: m), count: W)
            if let shifts { Elementwise.add(out, shifts.data + g * W, count: W) }
        }
    }

    private func accumulate(_ grad: UnsafePointer<Float>, classIndex k: Int, context m: Int, group g: Int,
                            into dContext: Tensor, shifts dShifts: Tensor?) {
        let W = encoder.width
        Elementwise.add(dContext.data + contextOffset(classIndex: k, context: m), grad, count: W)
        if let dShifts { Elementwise.add(dShifts.data + g * W, grad, count: W) }
    }
}
