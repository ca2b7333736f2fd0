import Kernels

/// CLIP's ViT image tower: patch embedding (`conv1` as one GEMM over all patches of the batch),
/// class token, positions, `ln_pre`, bidirectional transformer, `ln_post` of the class token, `proj`.
/// Frozen; run by the indexer over whole datasets.
public final class VisionTransformer {
    public let imageSize: Int
    public let patchSize: Int
    public let width: Int
    public let heads: Int
    public let embedDim: Int
    let patchWeight: Tensor          // [Wv, 3·P·P]  (conv1, no bias)
    let classEmbedding: Tensor       // [Wv]
    let positionalEmbedding: Tensor  // [g²+1, Wv]
    let lnPreGamma: Tensor, lnPreBeta: Tensor
    private(set) var blocks: [ResidualBlock]
    let lnPostGamma: Tensor, lnPostBeta: Tensor
    let projection: Tensor           // [Wv, D]
    /// Block buffers kept between batches, one per lane (one `encode` at a time per encoder).
    private let laneScratch = LaneScratch { BlockWorkspace() }
    /// BF16 copies of the weights under `--precision bf16` (nil: FP32).
    private var bf16: BF16Weights?
    /// `conv1` and `proj` packed for the FP32 kernel (the blocks keep their own).
    private let fp32 = FP32Weights()

    public var precision: Precision { bf16 == nil ? .fp32 : .bf16 }
    /// Runs the patch embedding and the blocks' linear layers in `precision`; `proj` stays FP32.
    public func use(_ precision: Precision) {
        let kernel = LinearKernel(precision)
        if case .bf16(let weights) = kernel { bf16 = weights } else { bf16 = nil }
        blocks = blocks.map { $0.running(kernel) }
    }

    public var grid: Int { imageSize / patchSize }
    public var tokens: Int { grid * grid + 1 }

    public init(weights: WeightSource, imageSize: Int, patchSize: Int, width: Int, layers: Int,
                heads: Int, embedDim: Int, activation: Activation = .quickGELU) throws {
        self.imageSize = imageSize; self.patchSize = patchSize; self.width = width
        self.heads = heads; self.embedDim = embedDim
        let t = ViTTensors(width: width, layers: layers, patchSize: patchSize, imageSize: imageSize, embedDim: embedDim)
        patchWeight = try weights.tensor(t.patchWeight)
        patchWeight.reshape([width, 3 * patchSize * patchSize])
        classEmbedding = try weights.tensor(t.classEmbedding)
        positionalEmbedding = try weights.tensor(t.positionalEmbedding)
        lnPreGamma = try weights.tensor(t.lnPreWeight)
        lnPreBeta = try weights.tensor(t.lnPreBias)
        blocks = try t.blocks.map { try ResidualBlock(weights: weights, tensors: $0, heads: heads, activation: activation) }
        lnPostGamma = try weights.tensor(t.lnPostWeight)
        lnPostBeta = try weights.tensor(t.lnPostBias)
        projection = try weights.tensor(t.projection)
    }

    /// Image features `[B, D]` (not normalised) of preprocessed pixels `[B, 3, R, R]`. The batch
    /// runs as `lanes` independent slices at once (default: one per thread; see `Parallel.slices`).
    /// `trace`, when given, receives named intermediates (for parity tests) from a single lane.
    public func encode(pixels: UnsafePointer<Float>, batch B: Int, lanes: Int? = nil,
                       trace: ((String, Tensor) -> Void)? = nil) -> Tensor {
        laneScratch.encode(pixels: pixels, batch: B, imageSize: imageSize, embedDim: embedDim, lanes: lanes,
                           tracing: trace != nil) { slice, count, out, workspace in
            encodeSlice(pixels: slice, batch: count, into: out, workspace: workspace, trace: trace)
        }
    }

    /// One lane of `encode`: features of `B` images written to `out` (`[B, D]`).
    private func encodeSlice(pixels: UnsafePointer<Float>, batch B: Int, into out: UnsafeMutablePointer<Float>,
                             workspace: BlockWorkspace, trace: ((String, Tensor) -> Void)?) {
        let W = width, P = patchSize, g = grid, T = tokens, R = imageSize, K = 3 * P * P
        // im2col of non-overlapping patches: patches[b·g² + py·g + px, (c·P + ky)·P + kx]
        let patches = Tensor(uninitializedShape: [B * g * g, K])
        for b in 0..<B {
            for py in 0..<g {
                for px in 0..<g {
                    let row = patches.data + ((b * g + py) * g + px) * K
                    for c in 0..<3 {
                        for ky in 0..<P {
                            let src = pixels + ((b * 3 + c) * R + py * P + ky) * R + px * P
                            (row + (c * P + ky) * P).update(from: src, count: P)
                        }
                    }
                }
            }
        }
        let embedded = Tensor(uninitializedShape: [B * g * g, W])                       // [B·g², W]
        let shape = Attention.Shape(batch: B, length: T, width: W, heads: heads, causal: false)
        let scratch = workspace.scratch(for: shape)
        scratch.products.bf16 = bf16
        scratch.products.linear(embedded.data, patches.data, weight: patchWeight.data, bias: nil, rows: B * g * g,
                                inFeatures: K, outFeatures: W, fp32: fp32)
        if let trace { embedded.reshape([B, g * g, W]); trace("image.patch_embed", embedded) }
        let x = Tensor(uninitializedShape: [B, T, W])                                   // [B, g²+1, W]
        for b in 0..<B {
            let seq = x.data + b * T * W
            seq.update(from: classEmbedding.data, count: W)
            (seq + W).update(from: embedded.data + b * g * g * W, count: g * g * W)
            Elementwise.add(seq, positionalEmbedding.data, count: T * W)
        }
        trace?("image.x0", x)
        LayerNorm.forward(x.data, x.data, gamma: lnPreGamma.data, beta: lnPreBeta.data, mean: nil, rstd: nil, rows: B * T, dim: W)
        trace?("image.ln_pre", x)
        for (i, block) in blocks.enumerated() {
            block.forward(x.data, shape: shape, scratch: scratch)
            trace?("image.block\(i).out", x)
        }
        let pooled = Tensor(shape: [B, W])
        for b in 0..<B {
            LayerNorm.forward(pooled.data + b * W, x.data + b * T * W, gamma: lnPostGamma.data, beta: lnPostBeta.data,
                              mean: nil, rstd: nil, rows: 1, dim: W)
        }
        trace?("image.ln_post", pooled)
        // out[B, D] = pooled[B, W] · proj[W, D], FP32 in every precision; each row alone in the kernel
        FP32GEMM.multiply(out, pooled.data, by: projection.data, rows: B, k: W, n: embedDim, weights: fp32)
    }

    /// Multiply–adds of one image, for throughput reports.
    public var flopsPerImage: Double {
        let T = Double(tokens), W = Double(width), L = Double(blocks.count)
        let patch = Double(grid * grid) * Double(3 * patchSize * patchSize) * W
        let block = T * 12 * W * W + 2 * T * T * W
        return 2 * (patch + L * block + W * Double(embedDim))
    }
}
