import Kernels

/// A convolution with its BatchNorm folded in at load time: `w' = w·γ/√(σ²+ε)`,
/// `b' = β − μ·γ/√(σ²+ε)` (inference BN is affine). ModifiedResNet convolutions have no bias of their own.
struct FoldedConv {
    let weight: Tensor   // [Cout, Cin·k·k]
    let bias: Tensor     // [Cout]
    let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int

    init(weights: WeightSource, tensors t: ConvBatchNormTensors, stride: Int = 1, padding: Int = 0) throws {
        inChannels = t.inChannels; outChannels = t.outChannels; kernel = t.kernel
        self.stride = stride; self.padding = padding
        weight = try weights.tensor(t.weight)
        weight.reshape([outChannels, inChannels * kernel * kernel])
        let gamma = try weights.tensor(t.bnWeight)
        let beta = try weights.tensor(t.bnBias)
        let mean = try weights.tensor(t.runningMean)
        let variance = try weights.tensor(t.runningVar)
        bias = Tensor(shape: [outChannels])
        let k = inChannels * kernel * kernel
        for c in 0..<outChannels {
            let s = gamma[c] / (variance[c] + 1e-5).squareRoot()
            for i in 0..<k { weight[c * k + i] *= s }
            bias[c] = beta[c] - mean[c] * s
        }
    }

    func shape(batch: Int, height: Int, width: Int) -> Conv2D.Shape {
        Conv2D.Shape(batch: batch, inChannels: inChannels, height: height, width: width,
                     outChannels: outChannels, kernel: kernel, stride: stride, padding: padding)
    }

    /// out[Cout, B, Ho, Wo] = conv(x) + bias (+ residual), then ReLU when `relu`; every image's
    /// outputs are the bits it gets alone. `scratch` holds the im2col matrix and the aligned copies.
    func forward(_ x: Tensor, batch: Int, height: Int, width: Int, residual: Tensor? = nil, relu: Bool,
                 scratch: ConvolutionScratch) -> Tensor {
        let s = shape(batch: batch, height: height, width: width)
        let out = scratch.activations.tensor([outChannels, batch, s.outHeight, s.outWidth], batch: batch)
        Conv2D.forward(out.data, x.data, weight: weight.data, bias: bias.data, residual: residual.map { UnsafePointer($0.data) },
                       relu: relu, shape: s,
                       columns: scratch.columns, products: scratch.products)
        return out
    }
}

/// One lane's convolution buffers, kept between batches: the im2col matrix (at batch 32 it
/// reaches hundreds of megabytes, which freshly mapped memory would page-fault on every call),
/// the layers' activations, and the products' packed columns and scratch.
final class ConvolutionScratch {
    let columns = GrowableBuffer<Float>()
    let activations = ActivationPool()
    let products = ProductScratch()
}

/// A lane's activation tensors, reused from layer to layer and batch to batch instead of freshly
/// mapped each time (a layer's output is tens of MiB per lane, whose pages the kernel otherwise
/// zeroes on first touch: 21% of RN50's BF16 time). A tensor only the pool still references is
/// free; contents are undefined, as `Tensor(uninitializedShape:)`'s are.
final class ActivationPool {
    private var tensors: [Tensor] = []
    private var batch = 0

    func tensor(_ shape: [Int], batch: Int) -> Tensor {
        if batch != self.batch { tensors.removeAll(); self.batch = batch }   // another batch size: other shapes
        let count = shape.reduce(1, *)
        for i in tensors.indices where tensors[i].count == count && isKnownUniquelyReferenced(&tensors[i]) {
            tensors[i].reshape(shape)
            return tensors[i]
        }
        let made = Tensor(uninitializedShape: shape)
        tensors.append(made)
        return made
    }
}

/// CLIP's anti-aliased Bottleneck: 1×1 → 3×3 → AvgPool(stride) → 1×1 (×4), identity or
/// AvgPool + 1×1 downsample, ReLU after the sum.
struct Bottleneck {
    let conv1: FoldedConv, conv2: FoldedConv, conv3: FoldedConv
    let downsample: FoldedConv?
    let stride: Int

    init(weights: WeightSource, tensors t: BottleneckTensors) throws {
        stride = t.stride
        conv1 = try FoldedConv(weights: weights, tensors: t.conv1)
        conv2 = try FoldedConv(weights: weights, tensors: t.conv2, padding: 1)
        conv3 = try FoldedConv(weights: weights, tensors: t.conv3)
        downsample = try t.downsample.map { try FoldedConv(weights: weights, tensors: $0) }
    }

    /// x: [Cin, B, H, W] → [4p, B, H/stride, W/stride]
    func forward(_ x: Tensor, batch B: Int, height H: Int, width W: Int, scratch: ConvolutionScratch) -> Tensor {
        var h = conv1.forward(x, batch: B, height: H, width: W, relu: true, scratch: scratch)
        h = conv2.forward(h, batch: B, height: H, width: W, relu: true, scratch: scratch)
        let Ho = H / stride, Wo = W / stride
        if stride > 1 { h = pool(h, planes: conv2.outChannels * B, height: H, width: W, batch: B, scratch: scratch) }
        var identity = x
        if let downsample {
            let source = stride > 1 ? pool(x, planes: conv1.inChannels * B, height: H, width: W, batch: B, scratch: scratch) : x
            identity = downsample.forward(source, batch: B, height: Ho, width: Wo, relu: false, scratch: scratch)
        }
        return conv3.forward(h, batch: B, height: Ho, width: Wo, residual: identity, relu: true, scratch: scratch)
    }

    private func pool(_ x: Tensor, planes: Int, height: Int, width: Int, batch: Int, scratch: ConvolutionScratch) -> Tensor {
        let out = scratch.activations.tensor([planes, height / stride, width / stride], batch: batch)
        AvgPool2D.forward(out.data, x.data, planes: planes, height: height, width: width, kernel: stride)
        return out
    }
}

/// CLIP's ModifiedResNet image tower (RN50/RN101/…): 3-conv stem, four stages of anti-aliased
/// Bottlenecks, AttentionPool2d. BatchNorm is folded into the convolutions at load time; activations
/// run in `[C, B, H, W]` layout so every 1×1 convolution is one GEMM over the batch.
public final class ModifiedResNet {
    public let imageSize: Int
    public let width: Int
    public let heads: Int
    public let embedDim: Int
    public let blocksPerStage: [Int]
    let stem: [FoldedConv]
    let stages: [[Bottleneck]]
    let poolPositions: Tensor      // [(R/32)²+1, E]
    let qWeight: Tensor, qBias: Tensor, kWeight: Tensor, kBias: Tensor, vWeight: Tensor, vBias: Tensor  // [E, E], [E]
    let cWeight: Tensor, cBias: Tensor                                                                  // [D, E], [D]
    /// Convolution buffers reused by every layer, one set per lane (one `encode` at a time per encoder).
    private let laneScratch = LaneScratch { ConvolutionScratch() }
    /// BF16 copies of the weights under `--precision bf16` (nil: FP32).
    private var bf16: BF16Weights?
    /// The attention pool's q/k/v and `c_proj` packed for the FP32 kernel.
    private let fp32 = FP32Weights()

    public var precision: Precision { bf16 == nil ? .fp32 : .bf16 }
    /// Runs the convolutions and the pool's q/k/v in `precision`; the final projection (`c_proj`) stays FP32.
    public func use(_ precision: Precision) { bf16 = precision == .bf16 ? BF16Weights() : nil }

    /// Channels entering the attention pool (32·width).
    public var poolChannels: Int { 32 * width }

    public init(weights: WeightSource, blocksPerStage: [Int], width: Int, heads: Int, imageSize: Int, embedDim: Int) throws {
        self.imageSize = imageSize; self.width = width; self.heads = heads
        self.embedDim = embedDim; self.blocksPerStage = blocksPerStage
        let t = ModifiedResNetTensors(blocksPerStage: blocksPerStage, width: width, imageSize: imageSize, embedDim: embedDim)
        stem = [
            try FoldedConv(weights: weights, tensors: t.stem[0], stride: 2, padding: 1),
            try FoldedConv(weights: weights, tensors: t.stem[1], padding: 1),
            try FoldedConv(weights: weights, tensors: t.stem[2], padding: 1),
        ]
        stages = try t.stages.map { try $0.map { try Bottleneck(weights: weights, tensors: $0) } }
        poolPositions = try weights.tensor(t.poolPositions)
        qWeight = try weights.tensor(t.qWeight)
        qBias = try weights.tensor(t.qBias)
        kWeight = try weights.tensor(t.kWeight)
        kBias = try weights.tensor(t.kBias)
        vWeight = try weights.tensor(t.vWeight)
        vBias = try weights.tensor(t.vBias)
        cWeight = try weights.tensor(t.cWeight)
        cBias = try weights.tensor(t.cBias)
    }

    /// Image features `[B, D]` (not normalised) of preprocessed pixels `[B, 3, R, R]`. The batch
    /// runs as `lanes` independent slices at once (default: one per thread; see `Parallel.slices`).
    /// `trace` receives NCHW intermediates named as in the parity fixtures, from a single lane.
    public func encode(pixels: UnsafePointer<Float>, batch B: Int, lanes: Int? = nil,
                       trace: ((String, Tensor) -> Void)? = nil) -> Tensor {
        laneScratch.encode(pixels: pixels, batch: B, imageSize: imageSize, embedDim: embedDim, lanes: lanes,
                           tracing: trace != nil) { slice, count, out, scratch in
            encodeSlice(pixels: slice, batch: count, into: out, scratch: scratch, trace: trace)
        }
    }

    /// One lane of `encode`: features of `B` images written to `out` (`[B, D]`).
    private func encodeSlice(pixels: UnsafePointer<Float>, batch B: Int, into out: UnsafeMutablePointer<Float>,
                             scratch: ConvolutionScratch, trace: ((String, Tensor) -> Void)?) {
        let R = imageSize
        scratch.products.bf16 = bf16
        // NCHW → CNHW
        var x = scratch.activations.tensor([3, B, R, R], batch: B)
        for b in 0..<B { for c in 0..<3 { (x.data + (c * B + b) * R * R).update(from: pixels + (b * 3 + c) * R * R, count: R * R) } }
        var H = R
        x = stem[0].forward(x, batch: B, height: H, width: H, relu: true, scratch: scratch)
        H = stem[0].shape(batch: B, height: H, width: H).outHeight
        x = stem[1].forward(x, batch: B, height: H, width: H, relu: true, scratch: scratch)
        x = stem[2].forward(x, batch: B, height: H, width: H, relu: true, scratch: scratch)
        let pooled = scratch.activations.tensor([width, B, H / 2, H / 2], batch: B)
        AvgPool2D.forward(pooled.data, x.data, planes: width * B, height: H, width: H, kernel: 2)
        x = pooled
        H /= 2
        trace?("image.stem", ModifiedResNet.toNCHW(x, batch: B))
        for (s, blocks) in stages.enumerated() {
            for (b, block) in blocks.enumerated() {
                x = block.forward(x, batch: B, height: H, width: H, scratch: scratch)
                H /= block.stride
                if let trace {
                    let nchw = ModifiedResNet.toNCHW(x, batch: B)
                    trace("image.layer\(s + 1).\(b)", nchw)
                    if b == blocks.count - 1 { trace("image.layer\(s + 1)", nchw) }
                }
            }
        }
        attentionPool(x, batch: B, spatial: H * H, into: out, products: scratch.products, trace: trace)
    }

    /// AttentionPool2d: tokens = [mean; x_1 … x_HW] + positions; the mean token queries all tokens.
    /// Writes the features `[B, D]` to `out`.
    private func attentionPool(_ x: Tensor, batch B: Int, spatial S: Int, into out: UnsafeMutablePointer<Float>,
                               products: ProductScratch, trace: ((String, Tensor) -> Void)?) {
        let E = poolChannels, T = S + 1, dh = E / heads
        let tokens = Tensor(shape: [B, T, E])                              // [B, HW+1, E]
        for c in 0..<E {
            for b in 0..<B {
                let plane = x.data + (c * B + b) * S
                var mean: Float = 0
                for i in 0..<S { mean += plane[i] }
                let seq = tokens.data + b * T * E
                seq[c] = mean / Float(S)
                for i in 0..<S { seq[(i + 1) * E + c] = plane[i] }
            }
        }
        for b in 0..<B { Elementwise.add(tokens.data + b * T * E, poolPositions.data, count: T * E) }
        trace?("image.attnpool.tokens", tokens)
        let keys = Tensor(shape: [B * T, E]), values = Tensor(shape: [B * T, E])
        products.linear(keys.data, tokens.data, weight: kWeight.data, bias: kBias.data, rows: B * T, inFeatures: E,
                        outFeatures: E, fp32: fp32)
        products.linear(values.data, tokens.data, weight: vWeight.data, bias: vBias.data, rows: B * T, inFeatures: E,
                        outFeatures: E, fp32: fp32)
        let query = Tensor(shape: [B, E]), first = Tensor(shape: [B, E])
        for b in 0..<B { (first.data + b * E).update(from: tokens.data + b * T * E, count: E) }
        products.linear(query.data, first.data, weight: qWeight.data, bias: qBias.data, rows: B, inFeatures: E,
                        outFeatures: E, fp32: fp32)
        let attended = Tensor(shape: [B, E]), scores = Tensor(shape: [T])
        let scale = 1 / Float(dh).squareRoot()
        for b in 0..<B {
            for h in 0..<heads {
                // scores[t] = q_h · k_h[t] / √dh
                GEMM.sgemm(transB: true, m: 1, n: T, k: dh, alpha: scale, a: query.data + b * E + h * dh, lda: E,
                           b: keys.data + b * T * E + h * dh, ldb: E, c: scores.data, ldc: T)
                Attention.softmaxRows(scores.data, rows: 1, cols: T, ownStart: 0, causal: false)
                GEMM.sgemm(m: 1, n: dh, k: T, a: scores.data, lda: T, b: values.data + b * T * E + h * dh, ldb: E,
                           c: attended.data + b * E + h * dh, ldc: E)
            }
        }
        products.linear(out, attended.data, weight: cWeight.data, bias: cBias.data, rows: B, inFeatures: E,
                        outFeatures: embedDim, fp32: fp32, fp32Only: true)
    }

    /// [C, B, H, W] → [B, C, H, W] (for traces and tests).
    static func toNCHW(_ x: Tensor, batch B: Int) -> Tensor {
        let C = x.shape[0], HW = x.count / (C * B)
        let out = Tensor(shape: [B, C, x.shape[2], x.shape[3]])
        for c in 0..<C { for b in 0..<B { (out.data + (b * C + c) * HW).update(from: x.data + (c * B + b) * HW, count: HW) } }
        return out
    }

    /// Multiply–adds of one image (convolutions and attention pool), for throughput reports.
    public var flopsPerImage: Double {
        var total = 0.0
        var H = imageSize
        func conv(_ c: FoldedConv, _ h: Int) -> Int {
            let s = c.shape(batch: 1, height: h, width: h)
            total += 2 * Double(c.outChannels * c.inChannels * c.kernel * c.kernel * s.outHeight * s.outWidth)
            return s.outHeight
        }
        H = conv(stem[0], H); _ = conv(stem[1], H); _ = conv(stem[2], H); H /= 2
        for blocks in stages {
            for block in blocks {
                _ = conv(block.conv1, H); _ = conv(block.conv2, H)
                let Ho = H / block.stride
                _ = conv(block.conv3, Ho)
                if let d = block.downsample { _ = conv(d, Ho) }
                H = Ho
            }
        }
        let E = Double(poolChannels), T = Double(H * H + 1)
        total += 2 * (2 * T * E * E + E * E + E * Double(embedDim))
        return total
    }
}
