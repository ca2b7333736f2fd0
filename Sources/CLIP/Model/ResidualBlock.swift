import Kernels

/// One pre-LN residual attention block of CLIP (`ResidualAttentionBlock`), shared by the text
/// transformer (causal) and the ViT (bidirectional): `x += attn(ln_1(x)); x += mlp(ln_2(x))`,
/// `mlp = c_proj(act(c_fc(·)))` with QuickGELU (OpenAI) or exact GELU (open_clip default).
/// Frozen: `backward` computes activation gradients only. Its four weight products run on `linear`,
/// chosen by the owning tower for its precision (`running(_:)`), forward and input gradient alike.
public struct ResidualBlock {
    public let width: Int
    public let heads: Int
    public let activation: Activation
    /// Our FP32 kernel (on `fp32`, this block's packed weights) or BF16 products; `.fp32` until the tower's `use(_:)` says otherwise.
    public private(set) var linear = LinearKernel.fp32
    let ln1Gamma: Tensor, ln1Beta: Tensor          // [W]
    let inProjWeight: Tensor, inProjBias: Tensor    // [3W, W], [3W]
    let outProjWeight: Tensor, outProjBias: Tensor  // [W, W], [W]
    let ln2Gamma: Tensor, ln2Beta: Tensor          // [W]
    let fcWeight: Tensor, fcBias: Tensor            // [4W, W], [4W]
    let projWeight: Tensor, projBias: Tensor        // [W, 4W], [W]
    /// The four weights packed for the FP32 kernel, each layout on first use.
    let fp32 = FP32Weights()

    /// Reads the block's tensors (`<prefix>.ln_1.weight`, `<prefix>.attn.in_proj_weight`, …).
    public init(weights: WeightSource, tensors t: ResidualBlockTensors, heads: Int, activation: Activation = .quickGELU) throws {
        width = t.width
        self.heads = heads
        self.activation = activation
        ln1Gamma = try weights.tensor(t.ln1Weight)
        ln1Beta = try weights.tensor(t.ln1Bias)
        inProjWeight = try weights.tensor(t.inProjWeight)
        inProjBias = try weights.tensor(t.inProjBias)
        outProjWeight = try weights.tensor(t.outProjWeight)
        outProjBias = try weights.tensor(t.outProjBias)
        ln2Gamma = try weights.tensor(t.ln2Weight)
        ln2Beta = try weights.tensor(t.ln2Bias)
        fcWeight = try weights.tensor(t.fcWeight)
        fcBias = try weights.tensor(t.fcBias)
        projWeight = try weights.tensor(t.projWeight)
        projBias = try weights.tensor(t.projBias)
    }

    /// This block with its weight products on `kernel` (the weights themselves are shared, not copied).
    public func running(_ kernel: LinearKernel) -> ResidualBlock {
        var block = self
        block.linear = kernel
        return block
    }

    /// Runs the block on `x` (`[rows, W]`, rows = B·T) in place. With a non-nil `cache` every
    /// activation `backward` needs is kept there; `prefixQKV` is the shared prefix of this layer.
    /// Every row's bits depend only on its own sequence (and prefix): `linear` computes each row
    /// alone (our FP32 kernel on the block's packed weights, or the BF16 kernel), so the image
    /// encoders' batches need no padding.
    public func forward(_ x: UnsafeMutablePointer<Float>, shape: Attention.Shape,
                        prefixQKV: UnsafePointer<Float>? = nil, cache: BlockActivations? = nil,
                        scratch: BlockScratch) {
        let W = width, rows = shape.batch * shape.length
        let a = cache ?? scratch.asActivations
        // y[rows, out] = x · weightᵀ (+ bias) on `self.linear`
        func linear(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ weight: Tensor, _ bias: Tensor?,
                    _ inFeatures: Int, _ outFeatures: Int) {
            self.linear.forward(y, x, weight: weight.data, bias: bias?.data, rows: rows, inFeatures: inFeatures,
                                outFeatures: outFeatures, fp32: fp32, scratch: scratch.products)
        }
        if let cache { Elementwise.copy(cache.input, x, count: rows * W) }
        // attention branch
        LayerNorm.forward(a.ln1, x, gamma: ln1Gamma.data, beta: ln1Beta.data, mean: a.mean1, rstd: a.rstd1, rows: rows, dim: W)
        linear(a.qkv, a.ln1, inProjWeight, inProjBias, W, 3 * W)
        Attention.forward(out: a.attn, probs: a.probs, qkv: a.qkv, prefixQKV: prefixQKV, shape: shape)
        linear(scratch.residual, a.attn, outProjWeight, nil, W, W)
        Elementwise.add(x, scratch.residual, bias: outProjBias.data, rows: rows, cols: W)
        if let cache { Elementwise.copy(cache.middle, x, count: rows * W) }
        // MLP branch
        LayerNorm.forward(a.ln2, x, gamma: ln2Gamma.data, beta: ln2Beta.data, mean: a.mean2, rstd: a.rstd2, rows: rows, dim: W)
        linear(a.fc, a.ln2, fcWeight, nil, W, 4 * W)
        // Adds c_fc's bias. Inference: in place, one pass. Training: `a.fc` keeps f′, all backward needs.
        let act = cache == nil ? a.fc : a.act                    // [rows, 4W]
        switch (activation, cache == nil) {
        case (.quickGELU, true): QuickGELU.forward(act, a.fc, bias: fcBias.data, rows: rows, cols: 4 * W)
        case (.gelu, true): GELU.forward(act, a.fc, bias: fcBias.data, rows: rows, cols: 4 * W)
        case (.quickGELU, false): QuickGELU.forwardSavingDerivative(act, a.fc, bias: fcBias.data, rows: rows, cols: 4 * W)
        case (.gelu, false): GELU.forwardSavingDerivative(act, a.fc, bias: fcBias.data, rows: rows, cols: 4 * W)
        }
        linear(scratch.residual, act, projWeight, nil, 4 * W, W)
        Elementwise.add(x, scratch.residual, bias: projBias.data, rows: rows, cols: W)
    }

    /// Given dL/d(output) in `dx` (`[rows, W]`), overwrites it with dL/d(input).
    /// `extraDQKV` (`[rows, 3W]`, optional) is added to this block's q/k/v gradient: the prefix
    /// receives there the key/value gradients its suffixes accumulated. `dPrefixQKV` accumulates
    /// this block's gradient w.r.t. the shared prefix's keys/values.
    public func backward(_ dx: UnsafeMutablePointer<Float>, shape: Attention.Shape, cache a: BlockActivations,
                         prefixQKV: UnsafePointer<Float>? = nil, dPrefixQKV: UnsafeMutablePointer<Float>? = nil,
                         extraDQKV: UnsafePointer<Float>? = nil, scratch: BlockScratch) {
        let W = width, rows = shape.batch * shape.length
        let g4 = scratch.wide, g3 = scratch.qkvGrad, g1 = scratch.residual
        // dx[rows, in] = dy · weight on `self.linear`
        func backwardInput(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ weight: Tensor,
                           _ inFeatures: Int, _ outFeatures: Int) {
            linear.backwardInput(dx, dy, weight: weight.data, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures,
                                 fp32: fp32, scratch: scratch.products)
        }
        // MLP branch: dx stays as the residual path; add the branch's input gradient.
        backwardInput(g4, dx, projWeight, 4 * W, W)                    // [rows, 4W]
        switch activation {                                             // × f′ saved by the forward
        case .quickGELU: QuickGELU.backward(g4, derivative: a.fc, count: rows * 4 * W)
        case .gelu: GELU.backward(g4, derivative: a.fc, count: rows * 4 * W)
        }
        backwardInput(g1, g4, fcWeight, W, 4 * W)
        LayerNorm.backward(dx, g1, a.middle, gamma: ln2Gamma.data, mean: a.mean2, rstd: a.rstd2, rows: rows, dim: W, accumulate: true)
        // attention branch
        backwardInput(g1, dx, outProjWeight, W, W)
        Attention.backward(dqkv: g3, dPrefixQKV: dPrefixQKV, dout: g1, qkv: a.qkv, prefixQKV: prefixQKV, probs: a.probs, shape: shape)
        if let extraDQKV { Elementwise.add(g3, extraDQKV, count: rows * 3 * W) }
        backwardInput(g1, g3, inProjWeight, W, 3 * W)
        LayerNorm.backward(dx, g1, a.input, gamma: ln1Gamma.data, mean: a.mean1, rstd: a.rstd1, rows: rows, dim: W, accumulate: true)
    }
}

/// The activations one block keeps for its backward pass (one instance per layer and chunk).
/// Owned by the text encoder's training path; sized for `rows = B·T` positions. After a training
/// forward `fc` holds the MLP activation's derivative f′ (the pre-activation itself is not kept).
public final class BlockActivations {
    let storage: Tensor
    let input, ln1, mean1, rstd1, qkv, probs, attn, middle, ln2, mean2, rstd2, fc, act: UnsafeMutablePointer<Float>
    /// The layer's q/k/v projections `[rows, 3W]`: a shared prefix hands them to its suffixes.
    public var projections: UnsafeMutablePointer<Float> { qkv }

    public init(shape: Attention.Shape) {
        let W = shape.width, rows = shape.batch * shape.length
        let sizes = [rows * W, rows * W, rows, rows, rows * 3 * W, shape.probabilityCount, rows * W, rows * W,
                     rows * W, rows, rows, rows * 4 * W, rows * 4 * W]
        storage = Tensor(uninitializedShape: [sizes.reduce(0, +)])   // forward writes every element
        var p = storage.data
        var slices: [UnsafeMutablePointer<Float>] = []
        for n in sizes { slices.append(p); p += n }
        (input, ln1, mean1, rstd1, qkv, probs, attn, middle) = (slices[0], slices[1], slices[2], slices[3], slices[4], slices[5], slices[6], slices[7])
        (ln2, mean2, rstd2, fc, act) = (slices[8], slices[9], slices[10], slices[11], slices[12])
    }
}

/// Reusable buffers for one block call (`rows = B·T` positions): the inference path keeps its
/// activations here instead of in a `BlockActivations`, and backward uses the gradient buffers.
public final class BlockScratch {
    let asActivations: BlockActivations
    let residual: UnsafeMutablePointer<Float>   // [rows, W]
    let wide: UnsafeMutablePointer<Float>       // [rows, 4W]
    let qkvGrad: UnsafeMutablePointer<Float>    // [rows, 3W]
    let products = ProductScratch()              // the weight products' scratch (FP32 blocks, BF16 copies)
    private let storage: Tensor

    public init(shape: Attention.Shape) {
        let W = shape.width, rows = shape.batch * shape.length
        asActivations = BlockActivations(shape: shape)
        storage = Tensor(uninitializedShape: [rows * 8 * W])
        residual = storage.data
        wide = storage.data + rows * W
        qkvGrad = storage.data + rows * 5 * W
    }
}

/// Activation and scratch buffers of residual blocks kept between passes (text passes, ViT
/// batches), one set per pass shape, so a training loop or an indexing run does not allocate (and
/// page-fault) hundreds of megabytes every step. A pass borrowing from a workspace is valid until
/// the next pass of the same shape borrows from it.
public final class BlockWorkspace {
    private var activations: [[Int]: [BlockActivations]] = [:]
    private var scratch: [[Int]: BlockScratch] = [:]

    public init() {}

    /// `layers` activation sets for `shape` (reused when a pass of this shape ran before).
    func activations(for shape: Attention.Shape, layers: Int) -> [BlockActivations] {
        if let kept = activations[shape.bufferKey], kept.count == layers { return kept }
        let made = (0..<layers).map { _ in BlockActivations(shape: shape) }
        activations[shape.bufferKey] = made
        return made
    }

    func scratch(for shape: Attention.Shape) -> BlockScratch {
        if let kept = scratch[shape.bufferKey] { return kept }
        let made = BlockScratch(shape: shape)
        scratch[shape.bufferKey] = made
        return made
    }
}

extension Attention.Shape {
    /// What sizes a pass's buffers: passes with equal keys can share them.
    var bufferKey: [Int] { [batch, length, prefix, width, heads] }
}
