/// The sizes of a CLIP model: what `clip.build_model` infers from a state dict (docs/DESIGN.md "Architecture inference"), or
/// what a model's config states. Built by `CLIPModelDirectory`; the encoders are shaped from it.
public struct CLIPArchitecture: Equatable, Sendable {
    /// Joint embedding size D (`text_projection` is [W, D]).
    public var embedDim: Int
    public var text: TextTowerArchitecture
    public var vision: VisionTowerArchitecture
    /// MLP nonlinearity of both towers: OpenAI checkpoints use QuickGELU; open_clip models without
    /// `quick_gelu: true` and HF configs with `hidden_act: gelu` use exact GELU.
    public var activation: Activation

    public init(embedDim: Int, text: TextTowerArchitecture, vision: VisionTowerArchitecture, activation: Activation) {
        self.embedDim = embedDim
        self.text = text
        self.vision = vision
        self.activation = activation
    }
}

/// The causal text transformer's sizes (MLP width is always 4·width).
public struct TextTowerArchitecture: Equatable, Sendable {
    public var width: Int
    public var heads: Int
    public var layers: Int
    public var contextLength: Int
    public var vocabularySize: Int

    public init(width: Int, heads: Int, layers: Int, contextLength: Int, vocabularySize: Int) {
        self.width = width
        self.heads = heads
        self.layers = layers
        self.contextLength = contextLength
        self.vocabularySize = vocabularySize
    }
}

/// The image tower: a ViT or OpenAI's ModifiedResNet.
public enum VisionTowerArchitecture: Equatable, Sendable {
    case vit(ViTArchitecture)
    case modifiedResNet(ResNetArchitecture)

    /// Input resolution R (square).
    public var imageSize: Int {
        switch self {
        case .vit(let v): return v.imageSize
        case .modifiedResNet(let r): return r.imageSize
        }
    }
}

/// A ViT image tower: patch embedding (no bias), class token, pre-LN transformer, `ln_post`, `proj`.
public struct ViTArchitecture: Equatable, Sendable {
    public var width: Int
    public var layers: Int
    public var heads: Int
    public var patchSize: Int
    public var imageSize: Int
    /// Patches per side, imageSize / patchSize.
    public var gridSize: Int { imageSize / patchSize }

    public init(width: Int, layers: Int, heads: Int, patchSize: Int, imageSize: Int) {
        self.width = width
        self.layers = layers
        self.heads = heads
        self.patchSize = patchSize
        self.imageSize = imageSize
    }
}

/// A ModifiedResNet image tower: 3-conv stem, four bottleneck stages, attention pooling.
public struct ResNetArchitecture: Equatable, Sendable {
    /// Bottleneck blocks in layer1…layer4.
    public var blocksPerStage: [Int]
    /// Stem/stage-1 width w; the trunk ends with 32·w channels.
    public var width: Int
    /// Attention-pool heads (width·32/64 for OpenAI models).
    public var heads: Int
    public var imageSize: Int
    /// Attention-pool output size (= embedDim).
    public var outputDim: Int
    /// Channels entering the attention pool, 32·width.
    public var embeddingWidth: Int { width * 32 }

    public init(blocksPerStage: [Int], width: Int, heads: Int, imageSize: Int, outputDim: Int) {
        self.blocksPerStage = blocksPerStage
        self.width = width
        self.heads = heads
        self.imageSize = imageSize
        self.outputDim = outputDim
    }
}

/// The transformer MLP nonlinearity.
public enum Activation: String, Equatable, Sendable {
    /// x·σ(1.702x), OpenAI CLIP.
    case quickGELU = "quick_gelu"
    /// Exact erf GELU (`nn.GELU`), open_clip's default.
    case gelu = "gelu"
}
