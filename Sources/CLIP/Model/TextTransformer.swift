import Kernels

/// CLIP's text tower: token embedding + positions → causal transformer → `ln_final` → the row
/// at each sequence's EOT (the largest token id, first occurrence) → `text_projection`.
/// Used by `cocoon embed`, zero-shot classification and (through its training path) the tuner.
public final class TextTransformer {
    public let width: Int
    public let heads: Int
    public let contextLength: Int
    public let vocabularySize: Int
    public let embedDim: Int
    /// The layers, each with the linear kernel of `precision`.
    public private(set) var blocks: [ResidualBlock]
    public let tokenEmbedding: Tensor  // [V, W]
    let positionalEmbedding: Tensor  // [ctx, W]
    let lnFinalGamma: Tensor, lnFinalBeta: Tensor  // [W]
    let textProjection: Tensor       // [W, D]

    /// Sequences per inference chunk: bounds activation memory whatever the batch size.
    public var chunkSize = 64
    /// The arithmetic of the blocks' linear layers (`tune --precision`); FP32 by default.
    public private(set) var precision = Precision.fp32
    /// Runs the blocks' linear layers, forward and input gradient, in `precision` from the next pass
    /// on (each block gets the one `LinearKernel`, so BF16 weights are packed once per tower);
    /// attention, LayerNorm, residual adds and `text_projection` stay FP32.
    public func use(_ precision: Precision) {
        self.precision = precision
        let kernel = LinearKernel(precision)
        blocks = blocks.map { $0.running(kernel) }
    }

    public init(weights: WeightSource, width: Int, heads: Int, layers: Int,
                contextLength: Int, vocabularySize: Int, embedDim: Int, activation: Activation = .quickGELU) throws {
        self.width = width; self.heads = heads; self.contextLength = contextLength
        self.vocabularySize = vocabularySize; self.embedDim = embedDim
        let t = TextTowerTensors(width: width, layers: layers, contextLength: contextLength, vocabularySize: vocabularySize,
                                 embedDim: embedDim)
        tokenEmbedding = try weights.tensor(t.tokenEmbedding)
        positionalEmbedding = try weights.tensor(t.positionalEmbedding)
        blocks = try t.blocks.map { try ResidualBlock(weights: weights, tensors: $0, heads: heads, activation: activation) }
        lnFinalGamma = try weights.tensor(t.lnFinalWeight)
        lnFinalBeta = try weights.tensor(t.lnFinalBias)
        textProjection = try weights.tensor(t.textProjection)
    }

    /// Index of the pooled position of a token row: the first maximum (EOT is the largest id).
    public static func eotIndex(_ tokens: [Int32]) -> Int {
        var best = 0
        for i in 1..<tokens.count where tokens[i] > tokens[best] { best = i }
        return best
    }

    /// Writes the token embeddings (no positions) of `tokens` into `out` (`[tokens.count, W]`).
    /// Out-of-range ids are a caller bug (the tokenizer and vocabulary come from the same model).
    public func embedTokens(_ tokens: ArraySlice<Int32>, into out: UnsafeMutablePointer<Float>) {
        for (i, id) in tokens.enumerated() {
            precondition(id >= 0 && Int(id) < vocabularySize, "token id \(id) outside the vocabulary (\(vocabularySize))")
            (out + i * width).update(from: tokenEmbedding.data + Int(id) * width, count: width)
        }
    }

    /// Text features (`[N, D]`, not normalised) of `N` token rows of `contextLength` ids.
    /// Each chunk runs only up to its last EOT (docs/DESIGN.md "EOT cut"): later positions cannot influence
    /// earlier ones under the causal mask, and pooling reads the EOT row. `length` forces a fixed
    /// run length (≥ every EOT + 1), used to prove the truncation exact. The rows run as `lanes`
    /// independent slices at once (default: one per thread; see `Parallel.slices`).
    public func encode(tokens: [[Int32]], length: Int? = nil, lanes: Int? = nil) -> Tensor {
        let n = tokens.count
        let features = Tensor(uninitializedShape: [n, embedDim])   // every chunk writes its rows
        Parallel.slices(n, lanes: lanes ?? Threads.current) { _, slice in
            var start = slice.lowerBound
            while start < slice.upperBound {
                let end = min(slice.upperBound, start + chunkSize)
                encodeChunk(tokens[start..<end], length: length, into: features.data + start * embedDim)
                start = end
            }
        }
        return features
    }

    /// Features `[rows, D]` of one chunk of token rows, written to `out`.
    private func encodeChunk(_ rows: ArraySlice<[Int32]>, length: Int?, into out: UnsafeMutablePointer<Float>) {
        let W = width
        let eots = rows.map(TextTransformer.eotIndex)
        let T = length ?? (eots.max()! + 1)
        let x = Tensor(uninitializedShape: [rows.count, T, W])              // [B, T, W], every row embedded below
        for (b, row) in rows.enumerated() {
            precondition(row.count == contextLength, "token rows must have \(contextLength) ids")
            embedTokens(row[0..<T], into: x.data + b * T * W)
        }
        let pass = SuffixPass(encoder: self, embeddings: x.data, count: rows.count, length: T, eots: eots,
                              keepActivations: false)
        out.update(from: pass.features.data, count: rows.count * embedDim)
    }

    /// x[b, t] += positional_embedding[offset + t] for t < length.
    public func addPositions(_ x: UnsafeMutablePointer<Float>, batch: Int, length: Int, offset: Int) {
        precondition(offset + length <= contextLength, "prompt longer than the context (\(contextLength))")
        for b in 0..<batch {
            Elementwise.add(x + b * length * width, positionalEmbedding.data + offset * width, count: length * width)
        }
    }

    /// Forward multiply–adds ×2 of one position through every layer (projections, MLP and
    /// attention over `attendedKeys` keys on average), for throughput reports.
    public func flopsPerToken(attendedKeys: Int) -> Double {
        let W = Double(width)
        return 2 * Double(blocks.count) * (12 * W * W + 2 * Double(attendedKeys) * W)
    }
}
