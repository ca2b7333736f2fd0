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
    /// Fewest positions a length bucket gathers before a longer suffix opens the next one.
    public var bucketRows = 384
    /// Buffers reused from step to step (a `Step` is valid until the next `forward`).
    let buffers = PromptPass.Buffers()
    /// Suffix passes run so far, forward or recomputed for backward (tests: a step's losses share one forward).
    var suffixPassesRun: Int { buffers.suffixPassesRun }
    /// Fills prompt rows from tokens and context, and sends their gradients back.
    let rows: PromptRows

    public init(encoder: TextTransformer, layout: PromptLayout, chunkSize: Int? = nil, memoryBudget: Int = 3 << 30) {
        self.encoder = encoder; self.layout = layout; self.classes = layout.suffixes.count
        self.chunkSize = chunkSize.map { max($0, 1) }
        self.memoryBudget = memoryBudget
        rows = PromptRows(encoder: encoder, layout: layout)
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

    /// Runs every prompt: `context` `[M, W]` or `[K, M, W]`; `shifts` `[G, W]` (CoCoOp) or nil (G = 1).
    public func forward(context: Tensor, shifts: Tensor? = nil) -> Step {
        precondition(context.count == contextCount, "context has \(context.count) values, expected \(contextCount)")
        let G = shifts?.shape[0] ?? 1, K = classes, W = encoder.width, P = layout.prefix.count
        let prefix = Tensor(uninitializedShape: [G, P, W])                       // [G, P, W]
        for g in 0..<G {
            for (t, row) in layout.prefix.enumerated() {
                rows.fill(prefix.data + (g * P + t) * W, row: row, classIndex: 0, group: g, context: context, shifts: shifts)
            }
        }
        let (chunks, keep) = plan(groups: G)
        let sequences = chunks.map(self.sequences)
        let passChunks = zip(chunks, sequences).map { chunk, members in
            let L = chunk.length
            let x = Tensor(shape: [chunk.count, L, W])          // rows after a shorter suffix's EOT stay 0: never attended
            for (i, (g, k)) in members.enumerated() {
                for (t, row) in layout.suffixes[k].enumerated() {
                    rows.fill(x.data + (i * L + t) * W, row: row, classIndex: k, group: g, context: context, shifts: shifts)
                }
            }
            return PromptPass.Chunk(embeddings: x, eots: members.map { layout.suffixes[$0.classIndex].count - 1 },
                                    firstGroup: chunk.firstGroup, groupSize: chunk.members.count,
                                    rows: members.map { $0.group * K + $0.classIndex })
        }
        let pass = PromptPass(encoder: encoder, prefix: prefix, chunks: passChunks, rows: G * K, keepActivations: keep,
                              buffers: buffers)
        return Step(pass: pass, rows: rows, contextShape: context.shape, groups: G, shifted: shifts != nil,
                    sequences: sequences)
    }

    /// One forward pass over all groups × classes, kept until `backward` (and valid only until the
    /// encoder's next `forward`, which reuses its buffers). Holds all its backward needs: the text
    /// pass and the prompt rows' map back to the context (no call back into the encoder).
    public final class Step {
        /// `[G·K, D]` text features, not normalised (group-major: row g·K + k).
        public let features: Tensor
        let pass: PromptPass
        let rows: PromptRows
        let contextShape: [Int]
        let groups: Int, shifted: Bool
        let sequences: [[(group: Int, classIndex: Int)]]   // per chunk, in pass order

        init(pass: PromptPass, rows: PromptRows, contextShape: [Int], groups: Int, shifted: Bool,
             sequences: [[(group: Int, classIndex: Int)]]) {
            self.pass = pass; self.features = pass.features; self.rows = rows
            self.contextShape = contextShape; self.groups = groups; self.shifted = shifted; self.sequences = sequences
        }

        /// dL/d(context) (same layout as the context) and dL/d(shifts) `[G, W]` from dL/d(features).
        public func backward(dFeatures: Tensor) -> (context: Tensor, shifts: Tensor?) {
            backward(dFeatures: [dFeatures])[0]
        }

        /// One backward per seed `[G·K, D]` (several losses of one forward, e.g. ProGrad's cross-entropy
        /// and distillation), on the one pass (`PromptPass.backward`); then each seed's embedding
        /// gradients are summed into the context rows they came from: every chunk's suffixes in pass
        /// order, then the prefixes. A step may also call this again.
        public func backward(dFeatures seeds: [Tensor]) -> [(context: Tensor, shifts: Tensor?)] {
            let layout = rows.layout, W = rows.width, P = layout.prefix.count
            return pass.backward(dFeatures: seeds).map { d in
                let dContext = Tensor(shape: contextShape)
                let dShifts = shifted ? Tensor(shape: [groups, W]) : nil
                for (c, dx) in d.suffixes.enumerated() {                          // [n, L, W]
                    let L = dx.shape[1]
                    for (i, (g, k)) in sequences[c].enumerated() {
                        for (t, row) in layout.suffixes[k].enumerated() {
                            guard case .context(let m) = row else { continue }
                            rows.accumulate(dx.data + (i * L + t) * W, classIndex: k, context: m, group: g,
                                            into: dContext, shifts: dShifts)
                        }
                    }
                }
                for g in 0..<groups {                                               // d.prefix [G, P, W]
                    for (t, row) in layout.prefix.enumerated() {
                        guard case .context(let m) = row else { continue }
                        rows.accumulate(d.prefix.data + (g * P + t) * W, classIndex: 0, context: m, group: g,
                                        into: dContext, shifts: dShifts)
                    }
                }
                return (dContext, dShifts)
            }
        }
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
    func sequences(_ chunk: Chunk) -> [(group: Int, classIndex: Int)] {
        (0..<chunk.groups).flatMap { gi in chunk.members.map { (chunk.firstGroup + gi, $0) } }
    }
}

/// The rows of the prompts: a fixed token's embedding, or context vector m (of class k when
/// class-specific) plus group g's shift; and the way back, each row's gradient summed into the
/// context vector (and shift) it came from. Used by `PromptTextEncoder` forward and its `Step`'s backward.
struct PromptRows {
    let layout: PromptLayout
    let width: Int
    let tokenEmbeddings: [Int32: Tensor]   // fixed tokens' embeddings, [W] each

    init(encoder: TextTransformer, layout: PromptLayout) {
        self.layout = layout
        width = encoder.width
        var rows: [Int32: Tensor] = [:]
        for row in layout.prefix + layout.suffixes.flatMap({ $0 }) {
            if case .token(let id) = row, rows[id] == nil {
                let t = Tensor(shape: [encoder.width])
                encoder.embedTokens([id][...], into: t.data)
                rows[id] = t
            }
        }
        tokenEmbeddings = rows
    }

    private func contextOffset(classIndex k: Int, context m: Int) -> Int {
        ((layout.classSpecific ? k : 0) * layout.contextLength + m) * width
    }

    /// out[W] = the row's embedding (no position).
    func fill(_ out: UnsafeMutablePointer<Float>, row: PromptRow, classIndex k: Int, group g: Int,
              context: Tensor, shifts: Tensor?) {
        switch row {
        case .token(let id):
            out.update(from: tokenEmbeddings[id]!.data, count: width)
        case .context(let m):
            out.update(from: context.data + contextOffset(classIndex: k, context: m), count: width)
            if let shifts { Elementwise.add(out, shifts.data + g * width, count: width) }
        }
    }

    /// The backward of `fill` for a context row: dContext[k, m] += grad; dShifts[g] += grad.
    func accumulate(_ grad: UnsafePointer<Float>, classIndex k: Int, context m: Int, group g: Int,
                    into dContext: Tensor, shifts dShifts: Tensor?) {
        Elementwise.add(dContext.data + contextOffset(classIndex: k, context: m), grad, count: width)
        if let dShifts { Elementwise.add(dShifts.data + g * width, grad, count: width) }
    }
}
