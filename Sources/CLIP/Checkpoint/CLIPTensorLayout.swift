/// One tensor a CLIP state dict of a given architecture holds (OpenAI key names; docs/DESIGN.md "Key names").
public struct ExpectedTensor: Equatable, Sendable {
    public let name: String
    public let shape: [Int]
    /// False for BatchNorm's `num_batches_tracked`, which converted checkpoints may leave out.
    public let required: Bool

    init(_ name: String, _ shape: [Int], required: Bool = true) {
        self.name = name
        self.shape = shape
        self.required = required
    }
}

// The one table of CLIP's tensor names and shapes: one layout per component below, composed into
// `CLIPArchitecture.expectedTensors` (what `CLIPModelDirectory` checks a checkpoint against) and
// read field by field by the loaders (`TextTransformer`, `VisionTransformer`, `ModifiedResNet`,
// `ResidualBlock`), so a name or shape is written once.

/// The tensors of one `ResidualAttentionBlock` (`<prefix>.attn.in_proj_weight`, …) of width W.
public struct ResidualBlockTensors: Sendable {
    public let width: Int
    public let inProjWeight, inProjBias, outProjWeight, outProjBias: ExpectedTensor
    public let ln1Weight, ln1Bias, fcWeight, fcBias, projWeight, projBias, ln2Weight, ln2Bias: ExpectedTensor

    public init(prefix p: String, width w: Int) {
        width = w
        inProjWeight = ExpectedTensor("\(p).attn.in_proj_weight", [3 * w, w])
        inProjBias = ExpectedTensor("\(p).attn.in_proj_bias", [3 * w])
        outProjWeight = ExpectedTensor("\(p).attn.out_proj.weight", [w, w])
        outProjBias = ExpectedTensor("\(p).attn.out_proj.bias", [w])
        ln1Weight = ExpectedTensor("\(p).ln_1.weight", [w])
        ln1Bias = ExpectedTensor("\(p).ln_1.bias", [w])
        fcWeight = ExpectedTensor("\(p).mlp.c_fc.weight", [4 * w, w])
        fcBias = ExpectedTensor("\(p).mlp.c_fc.bias", [4 * w])
        projWeight = ExpectedTensor("\(p).mlp.c_proj.weight", [w, 4 * w])
        projBias = ExpectedTensor("\(p).mlp.c_proj.bias", [w])
        ln2Weight = ExpectedTensor("\(p).ln_2.weight", [w])
        ln2Bias = ExpectedTensor("\(p).ln_2.bias", [w])
    }

    /// In state-dict order.
    public var all: [ExpectedTensor] {
        [inProjWeight, inProjBias, outProjWeight, outProjBias, ln1Weight, ln1Bias,
         fcWeight, fcBias, projWeight, projBias, ln2Weight, ln2Bias]
    }
}

/// The `layers` residual blocks `<prefix>transformer.resblocks.<i>` of a transformer of width W.
func transformerBlocks(prefix: String, width: Int, layers: Int) -> [ResidualBlockTensors] {
    (0..<layers).map { ResidualBlockTensors(prefix: "\(prefix)transformer.resblocks.\($0)", width: width) }
}

/// The text tower's tensors (token and positional embeddings, blocks, `ln_final`, `text_projection`).
public struct TextTowerTensors: Sendable {
    public let tokenEmbedding, positionalEmbedding, lnFinalWeight, lnFinalBias, textProjection: ExpectedTensor
    public let blocks: [ResidualBlockTensors]

    public init(width w: Int, layers: Int, contextLength: Int, vocabularySize: Int, embedDim: Int) {
        tokenEmbedding = ExpectedTensor("token_embedding.weight", [vocabularySize, w])
        positionalEmbedding = ExpectedTensor("positional_embedding", [contextLength, w])
        blocks = transformerBlocks(prefix: "", width: w, layers: layers)
        lnFinalWeight = ExpectedTensor("ln_final.weight", [w])
        lnFinalBias = ExpectedTensor("ln_final.bias", [w])
        textProjection = ExpectedTensor("text_projection", [w, embedDim])
    }
}

/// A ViT image tower's tensors (`visual.…`).
public struct ViTTensors: Sendable {
    public let classEmbedding, positionalEmbedding, projection, patchWeight: ExpectedTensor
    public let lnPreWeight, lnPreBias, lnPostWeight, lnPostBias: ExpectedTensor
    public let blocks: [ResidualBlockTensors]

    public init(width w: Int, layers: Int, patchSize: Int, imageSize: Int, embedDim: Int) {
        let g = imageSize / patchSize
        classEmbedding = ExpectedTensor("visual.class_embedding", [w])
        positionalEmbedding = ExpectedTensor("visual.positional_embedding", [g * g + 1, w])
        projection = ExpectedTensor("visual.proj", [w, embedDim])
        patchWeight = ExpectedTensor("visual.conv1.weight", [w, 3, patchSize, patchSize])
        lnPreWeight = ExpectedTensor("visual.ln_pre.weight", [w])
        lnPreBias = ExpectedTensor("visual.ln_pre.bias", [w])
        blocks = transformerBlocks(prefix: "visual.", width: w, layers: layers)
        lnPostWeight = ExpectedTensor("visual.ln_post.weight", [w])
        lnPostBias = ExpectedTensor("visual.ln_post.bias", [w])
    }

    /// In state-dict order.
    public var all: [ExpectedTensor] {
        [classEmbedding, positionalEmbedding, projection, patchWeight, lnPreWeight, lnPreBias]
            + blocks.flatMap(\.all) + [lnPostWeight, lnPostBias]
    }
}

/// A bias-free convolution `<conv>.weight` `[out, in, k, k]` and the BatchNorm `<bn>` after it.
public struct ConvBatchNormTensors: Sendable {
    public let weight, bnWeight, bnBias, runningMean, runningVar, batchesTracked: ExpectedTensor
    public var inChannels: Int { weight.shape[1] }
    public var outChannels: Int { weight.shape[0] }
    public var kernel: Int { weight.shape[2] }

    public init(conv: String, bn: String, inChannels: Int, outChannels: Int, kernel: Int) {
        weight = ExpectedTensor("\(conv).weight", [outChannels, inChannels, kernel, kernel])
        bnWeight = ExpectedTensor("\(bn).weight", [outChannels])
        bnBias = ExpectedTensor("\(bn).bias", [outChannels])
        runningMean = ExpectedTensor("\(bn).running_mean", [outChannels])
        runningVar = ExpectedTensor("\(bn).running_var", [outChannels])
        batchesTracked = ExpectedTensor("\(bn).num_batches_tracked", [], required: false)
    }

    /// In state-dict order.
    public var all: [ExpectedTensor] { [weight, bnWeight, bnBias, runningMean, runningVar, batchesTracked] }
}

/// One anti-aliased Bottleneck `<prefix>` of a ModifiedResNet: 1×1, 3×3, 1×1 (×4) convolutions,
/// and the 1×1 downsample where the block strides or changes width.
public struct BottleneckTensors: Sendable {
    public let conv1, conv2, conv3: ConvBatchNormTensors
    public let downsample: ConvBatchNormTensors?
    public let stride: Int

    public init(prefix p: String, inplanes: Int, planes: Int, stride: Int) {
        self.stride = stride
        conv1 = ConvBatchNormTensors(conv: "\(p).conv1", bn: "\(p).bn1", inChannels: inplanes, outChannels: planes, kernel: 1)
        conv2 = ConvBatchNormTensors(conv: "\(p).conv2", bn: "\(p).bn2", inChannels: planes, outChannels: planes, kernel: 3)
        conv3 = ConvBatchNormTensors(conv: "\(p).conv3", bn: "\(p).bn3", inChannels: planes, outChannels: 4 * planes, kernel: 1)
        downsample = stride > 1 || inplanes != 4 * planes
            ? ConvBatchNormTensors(conv: "\(p).downsample.0", bn: "\(p).downsample.1", inChannels: inplanes,
                                   outChannels: 4 * planes, kernel: 1)
            : nil
    }

    /// In state-dict order.
    public var all: [ExpectedTensor] { conv1.all + conv2.all + conv3.all + (downsample?.all ?? []) }
}

/// A ModifiedResNet image tower's tensors (`visual.…`): 3-conv stem, the four stages of
/// Bottlenecks, the attention pool.
public struct ModifiedResNetTensors: Sendable {
    public let stem: [ConvBatchNormTensors]
    public let stages: [[BottleneckTensors]]
    public let poolPositions, qWeight, qBias, kWeight, kBias, vWeight, vBias, cWeight, cBias: ExpectedTensor

    public init(blocksPerStage: [Int], width: Int, imageSize: Int, embedDim: Int) {
        let half = width / 2
        stem = [
            ConvBatchNormTensors(conv: "visual.conv1", bn: "visual.bn1", inChannels: 3, outChannels: half, kernel: 3),
            ConvBatchNormTensors(conv: "visual.conv2", bn: "visual.bn2", inChannels: half, outChannels: half, kernel: 3),
            ConvBatchNormTensors(conv: "visual.conv3", bn: "visual.bn3", inChannels: half, outChannels: width, kernel: 3),
        ]
        var stages: [[BottleneckTensors]] = []
        var inplanes = width
        for (stage, count) in blocksPerStage.enumerated() {
            let planes = width << stage
            var blocks: [BottleneckTensors] = []
            for b in 0..<count {
                blocks.append(BottleneckTensors(prefix: "visual.layer\(stage + 1).\(b)", inplanes: inplanes, planes: planes,
                                                stride: stage > 0 && b == 0 ? 2 : 1))
                inplanes = 4 * planes
            }
            stages.append(blocks)
        }
        self.stages = stages
        let e = 32 * width, side = imageSize / 32
        poolPositions = ExpectedTensor("visual.attnpool.positional_embedding", [side * side + 1, e])
        kWeight = ExpectedTensor("visual.attnpool.k_proj.weight", [e, e])
        kBias = ExpectedTensor("visual.attnpool.k_proj.bias", [e])
        qWeight = ExpectedTensor("visual.attnpool.q_proj.weight", [e, e])
        qBias = ExpectedTensor("visual.attnpool.q_proj.bias", [e])
        vWeight = ExpectedTensor("visual.attnpool.v_proj.weight", [e, e])
        vBias = ExpectedTensor("visual.attnpool.v_proj.bias", [e])
        cWeight = ExpectedTensor("visual.attnpool.c_proj.weight", [embedDim, e])
        cBias = ExpectedTensor("visual.attnpool.c_proj.bias", [embedDim])
    }

    /// In state-dict order.
    public var all: [ExpectedTensor] {
        stem.flatMap(\.all) + stages.joined().flatMap(\.all)
            + [poolPositions, kWeight, kBias, qWeight, qBias, vWeight, vBias, cWeight, cBias]
    }
}

extension CLIPArchitecture {
    /// Every tensor of `clip.model.CLIP` with these sizes, in state-dict order. `CLIPModelDirectory`
    /// checks a checkpoint against it; the encoders read exactly these names.
    public var expectedTensors: [ExpectedTensor] {
        let t = TextTowerTensors(width: text.width, layers: text.layers, contextLength: text.contextLength,
                                 vocabularySize: text.vocabularySize, embedDim: embedDim)
        let image: [ExpectedTensor]
        switch vision {
        case .vit(let v):
            image = ViTTensors(width: v.width, layers: v.layers, patchSize: v.patchSize, imageSize: v.imageSize,
                               embedDim: embedDim).all
        case .modifiedResNet(let r):
            image = ModifiedResNetTensors(blocksPerStage: r.blocksPerStage, width: r.width, imageSize: r.imageSize,
                                          embedDim: r.outputDim).all
        }
        return [t.positionalEmbedding, t.textProjection, ExpectedTensor("logit_scale", [])] + image
            + [t.tokenEmbedding] + t.blocks.flatMap(\.all) + [t.lnFinalWeight, t.lnFinalBias]
    }
}
