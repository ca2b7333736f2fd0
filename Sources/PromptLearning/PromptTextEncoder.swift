import CLIP
import Kernels

/// Text features of every class prompt built from learned context vectors, and their gradient
/// back to the context: the frozen text transformer run with the shared prefix once per group
/// (DESIGN idea 4), every class's suffix cut after its EOT (idea 1), activation gradients only
/// (idea 2), and classes processed in chunks that are recomputed for backward when there is more
/// than one (idea 6, peak memory independent of K). Groups are CoCoOp's images: group g uses
/// `ctx + shift_g` (G = 1 and no shift for CoOp).
public final class PromptTextEncoder {
    public let encoder: TextTransformer
    public let layout: PromptLayout
    public let classes: Int
    /// Most suffix sequences one pass runs (the memory bound).
    public var chunkSize: Int
    let rowEmbeddings: [Int32: Tensor]   // fixed tokens' embeddings, [W] each
    /// Buffers reused from step to step (a `Step` is valid until the next `forward`).
    let prefixWorkspace = TextWorkspace(), suffixWorkspace = TextWorkspace()

    public init(encoder: TextTransformer, layout: PromptLayout, chunkSize: Int = 256) {
        self.encoder = encoder; self.layout = layout; self.classes = layout.suffixes.count
        self.chunkSize = max(chunkSize, 1)
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

    /// Context vectors per class: M·W floats, `[K, M, W]` when class-specific else `[M, W]`.
    public var contextCount: Int { (layout.classSpecific ? classes : 1) * layout.contextLength * encoder.width }

    /// One forward pass over all groups × classes, kept until `backward` (and valid only until the
    /// encoder's next `forward`, which reuses its buffers).
    public final class Step {
        /// `[G·K, D]` text features, not normalised (group-major).
        public let features: Tensor
        let owner: PromptTextEncoder
        let context: Tensor, shifts: Tensor?
        let groups: Int
        let prefixPass: PrefixPass
        let chunks: [Range<Int>]            // ranges of sequence indices g·K + k
        var keptPass: SuffixPass?           // the single chunk's activations, when there is one chunk

        init(owner: PromptTextEncoder, context: Tensor, shifts: Tensor?, groups: Int, features: Tensor,
             prefixPass: PrefixPass, chunks: [Range<Int>], keptPass: SuffixPass?) {
            self.owner = owner; self.context = context; self.shifts = shifts; self.groups = groups
            self.features = features; self.prefixPass = prefixPass; self.chunks = chunks; self.keptPass = keptPass
        }

        /// dL/d(context) (same layout as the context) and dL/d(shifts) `[G, W]` from dL/d(features).
        public func backward(dFeatures: Tensor) -> (context: Tensor, shifts: Tensor?) {
            let o = owner, W = o.encoder.width, D = o.encoder.embedDim, K = o.classes
            let dContext = Tensor(shape: context.shape)
            let dShifts = shifts.map { _ in Tensor(shape: [groups, W]) }
            for chunk in chunks {
                let pass = keptPass ?? o.suffixPass(chunk, context: context, shifts: shifts, prefix: prefixPass, keep: true)
                let dx = pass.backward(dFeatures: dFeatures.data + chunk.lowerBound * D)
                for (i, n) in chunk.enumerated() {
                    let (g, k) = (n / K, n % K)
                    for (t, row) in o.layout.suffixes[k].enumerated() {
                        guard case .context(let m) = row else { continue }
                        o.accumulate(dx.data + (i * pass.length + t) * W, classIndex: k, context: m, group: g,
                                     into: dContext, shifts: dShifts)
                    }
                }
            }
            let dPrefix = prefixPass.backward()
            for g in 0..<groups {
                for (t, row) in o.layout.prefix.enumerated() {
                    guard case .context(let m) = row else { continue }
                    o.accumulate(dPrefix.data + (g * o.layout.prefix.count + t) * W, classIndex: 0, context: m, group: g,
                                 into: dContext, shifts: dShifts)
                }
            }
            return (dContext, dShifts)
        }
    }

    /// Runs every prompt: `context` `[M, W]` or `[K, M, W]`; `shifts` `[G, W]` (CoCoOp) or nil (G = 1).
    public func forward(context: Tensor, shifts: Tensor? = nil) -> Step {
        precondition(context.count == contextCount, "context has \(context.count) values, expected \(contextCount)")
        let G = shifts?.shape[0] ?? 1, K = classes, W = encoder.width, D = encoder.embedDim, P = layout.prefix.count
        let prefix = Tensor(shape: [G, P, W])
        for g in 0..<G {
            for (t, row) in layout.prefix.enumerated() {
                fill(prefix.data + (g * P + t) * W, row: row, classIndex: 0, group: g, context: context, shifts: shifts)
            }
        }
        let prefixPass = PrefixPass(encoder: encoder, embeddings: prefix.data, groups: G, length: P, workspace: prefixWorkspace)
        let chunks = plan(groups: G)
        let features = Tensor(shape: [G * K, D])
        var kept: SuffixPass?
        for chunk in chunks {
            let pass = suffixPass(chunk, context: context, shifts: shifts, prefix: prefixPass, keep: chunks.count == 1)
            (features.data + chunk.lowerBound * D).update(from: pass.features.data, count: chunk.count * D)
            if chunks.count == 1 { kept = pass }
        }
        return Step(owner: self, context: context, shifts: shifts, groups: G, features: features,
                    prefixPass: prefixPass, chunks: chunks, keptPass: kept)
    }

    /// Sequence ranges: whole groups per chunk when K fits, else pieces of one group.
    func plan(groups G: Int) -> [Range<Int>] {
        let K = classes
        var chunks: [Range<Int>] = []
        if K <= chunkSize {
            let perChunk = max(chunkSize / K, 1)
            for g in stride(from: 0, to: G, by: perChunk) { chunks.append(g * K..<min(G, g + perChunk) * K) }
        } else {
            for g in 0..<G {
                for k in stride(from: 0, to: K, by: chunkSize) { chunks.append(g * K + k..<g * K + min(K, k + chunkSize)) }
            }
        }
        return chunks
    }

    /// Builds and runs the suffixes of sequences `chunk` (all within whole groups or one group).
    func suffixPass(_ chunk: Range<Int>, context: Tensor, shifts: Tensor?, prefix: PrefixPass, keep: Bool) -> SuffixPass {
        let K = classes, W = encoder.width, S = layout.suffixLength
        let x = Tensor(shape: [chunk.count, S, W])
        var eots: [Int] = []
        for (i, n) in chunk.enumerated() {
            let (g, k) = (n / K, n % K)
            for (t, row) in layout.suffixes[k].enumerated() {
                fill(x.data + (i * S + t) * W, row: row, classIndex: k, group: g, context: context, shifts: shifts)
            }
            eots.append(layout.suffixes[k].count - 1)
        }
        let firstGroup = chunk.lowerBound / K
        return SuffixPass(encoder: encoder, prefix: prefix, firstGroup: firstGroup, groupSize: K,
                          embeddings: x.data, count: chunk.count, length: S, eots: eots, keepActivations: keep,
                          workspace: suffixWorkspace)
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
