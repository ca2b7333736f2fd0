import Foundation
import Kernels

/// The image tower of a model: a ViT or a ModifiedResNet behind one `encode`.
public enum ImageEncoder {
    case vit(VisionTransformer)
    case resnet(ModifiedResNet)

    public var imageSize: Int {
        switch self { case .vit(let v): return v.imageSize; case .resnet(let r): return r.imageSize }
    }

    public var embedDim: Int {
        switch self { case .vit(let v): return v.embedDim; case .resnet(let r): return r.embedDim }
    }

    public var flopsPerImage: Double {
        switch self { case .vit(let v): return v.flopsPerImage; case .resnet(let r): return r.flopsPerImage }
    }

    public var precision: Precision {
        switch self { case .vit(let v): return v.precision; case .resnet(let r): return r.precision }
    }

    /// Runs the tower's weight products in `precision` from the next `encode` on.
    public func use(_ precision: Precision) {
        switch self { case .vit(let v): v.use(precision); case .resnet(let r): r.use(precision) }
    }

    /// Features `[B, D]` (not normalised) of preprocessed pixels `[B, 3, R, R]`, the batch split
    /// into `lanes` slices run at once (default: one per thread).
    public func encode(pixels: UnsafePointer<Float>, batch: Int, lanes: Int? = nil,
                       trace: ((String, Tensor) -> Void)? = nil) -> Tensor {
        switch self {
        case .vit(let v): return v.encode(pixels: pixels, batch: batch, lanes: lanes, trace: trace)
        case .resnet(let r): return r.encode(pixels: pixels, batch: batch, lanes: lanes, trace: trace)
        }
    }
}

/// A loaded CLIP model directory: text tower, optional image tower, tokenizer, logit scale and
/// preprocessing. What `cocoon embed`, the indexer, zero-shot evaluation and the tuner open.
public final class CLIPModel {
    public let directory: CLIPModelDirectory
    public let text: TextTransformer
    public let image: ImageEncoder?
    /// The model's BPE tokenizer; nil when the directory ships no vocabulary (image-only use).
    public let tokenizer: BPETokenizer?

    /// `exp(logit_scale)`, the factor on cosine similarities.
    public var logitScale: Float { expf(directory.logitScale) }
    public var architecture: CLIPArchitecture { directory.architecture }

    /// Loads the text tower and tokenizer, and the image tower unless `loadImageTower` is false
    /// (the tuner never needs it).
    public init(directory url: URL, loadImageTower: Bool = true) throws {
        let dir = try CLIPModelDirectory(url: url)
        directory = dir
        let a = dir.architecture
        text = try TextTransformer(weights: dir.weights, width: a.text.width, heads: a.text.heads, layers: a.text.layers,
                                   contextLength: a.text.contextLength, vocabularySize: a.text.vocabularySize,
                                   embedDim: a.embedDim, activation: a.activation)
        if loadImageTower {
            switch a.vision {
            case .vit(let v):
                image = .vit(try VisionTransformer(weights: dir.weights, imageSize: v.imageSize, patchSize: v.patchSize,
                                                   width: v.width, layers: v.layers, heads: v.heads, embedDim: a.embedDim,
                                                   activation: a.activation))
            case .modifiedResNet(let r):
                image = .resnet(try ModifiedResNet(weights: dir.weights, blocksPerStage: r.blocksPerStage, width: r.width,
                                                   heads: r.heads, imageSize: r.imageSize, embedDim: a.embedDim))
            }
        } else {
            image = nil
        }
        tokenizer = dir.tokenizerFiles == nil ? nil : try BPETokenizer(directory: url)
    }

    /// The tokenizer, or a one-line error when the model directory has no vocabulary.
    public func requireTokenizer() throws -> BPETokenizer {
        guard let tokenizer else {
            throw CheckpointError("\(directory.url.path): no tokenizer (bpe_simple_vocab_16e6.txt.gz or vocab.json + merges.txt); copy the vocabulary into the model directory (tools/convert_checkpoint.py does)")
        }
        return tokenizer
    }

    /// Token rows for texts, padded to the text tower's context length.
    public func tokenize(_ texts: [String]) throws -> [[Int32]] {
        try requireTokenizer().tokenize(texts, contextLength: text.contextLength)
    }

    /// L2-normalised text features `[texts, D]` (tokenizer + text tower): what zero-shot
    /// classification and text→image search compare image features with.
    public func textFeatures(_ texts: [String]) throws -> Tensor {
        let features = text.encode(tokens: try tokenize(texts))
        Elementwise.normalizeRows(features.data, rows: texts.count, dim: text.embedDim)
        return features
    }
}

#if canImport(Glibc)
import Glibc
#endif
