import Formats
import Foundation
import Hashing
import Kernels

/// A CLIP model directory (docs/DESIGN.md "Model directory"), loaded without Python: the weights file
/// (`model.safetensors` or `open_clip_model.safetensors`, any naming, F32/F16/BF16), its architecture
/// (inferred from shapes as `clip.build_model` does; `open_clip_config.json` or HF `config.json`
/// override heads/activation and must agree on sizes), preprocessing, tokenizer files, and the
/// fingerprint the feature store keys on. Every tensor the architecture needs is checked on load.
/// Used by `cocoon inspect`, the encoders (`weights`), indexing (fingerprint, preprocess) and tuning.
public final class CLIPModelDirectory {
    /// Weight file names looked for, in order.
    public static let weightFileNames = ["model.safetensors", "open_clip_model.safetensors"]

    public let url: URL
    public let weightsURL: URL
    public let naming: CheckpointNaming
    /// The tensors under OpenAI names.
    public let weights: CLIPWeights
    public let architecture: CLIPArchitecture
    /// The config file whose values were applied (nil: everything inferred from shapes).
    public let configURL: URL?
    public let preprocess: PreprocessConfig
    /// The stored `logit_scale`, i.e. the log of the logit multiplier: callers apply `exp`.
    public let logitScale: Float
    /// The tokenizer vocabulary files, if the directory has them.
    public let tokenizerFiles: TokenizerFiles?
    /// Learnable parameters (as `sum(p.numel() for p in model.parameters())`): every stored element
    /// except BatchNorm running statistics, `num_batches_tracked` and HF `position_ids`.
    public let parameterCount: Int
    /// Stored tensors per dtype, as on disk (before any name mapping).
    public let storedDTypeCounts: [SafeTensorsDType: Int]
    /// OpenAI names stored but not part of the architecture (not used by the encoders).
    public let unusedTensorNames: [String]

    /// The weight file's canonical path and `stat` fields when it was opened (nil if it changed while
    /// being opened, or cannot be stat'ed): the key of its fingerprint cache entry.
    public let weightsIdentity: WeightsFileIdentity?

    /// SHA-256 of the weight file's bytes followed by `preprocess.canonicalJSON`; on first use taken
    /// from the fingerprint cache (`FingerprintCache.fromEnvironment()`) when its entry's key equals
    /// `weightsIdentity` and the preprocessing, else computed (reads the whole file once) and cached.
    public private(set) lazy var fingerprint: ModelFingerprint = {
        let cache = FingerprintCache.fromEnvironment()
        if let identity = weightsIdentity, let cached = cache?.lookup(identity, preprocess: preprocess.canonicalJSON) {
            return cached
        }
        let computed = hashFingerprint()
        if let cache { _ = storeFingerprint(computed, in: cache) }
        return computed
    }()

    /// The fingerprint recomputed from the weight file's bytes, ignoring the cache.
    public func hashFingerprint() -> ModelFingerprint {
        var hash = SHA256()
        weights.file.withFileBytes { bytes in
            if let base = bytes.baseAddress { hash.update(base, count: bytes.count) }
        }
        hash.update(preprocess.canonicalJSON)
        return ModelFingerprint(hex: hexString(hash.finalize()))
    }

    /// `cocoon inspect --verify`: the cached fingerprint (if an entry matches the file), the one
    /// recomputed from the bytes, and whether the cache entry was rewritten with the latter, which
    /// also becomes `fingerprint`.
    public func verifyFingerprint() -> FingerprintVerification {
        let cache = FingerprintCache.fromEnvironment()
        let cached = weightsIdentity.flatMap { cache?.lookup($0, preprocess: preprocess.canonicalJSON) }
        let computed = hashFingerprint()
        fingerprint = computed
        let written = cache.map { storeFingerprint(computed, in: $0) } ?? false
        return FingerprintVerification(cached: cached, computed: computed,
                                       cacheFile: weightsIdentity.flatMap { id in cache?.entryURL(forCanonicalPath: id.path) },
                                       cacheRefreshed: written)
    }

    /// Caches `value` unless the file changed since it was opened (then its bytes may not be the
    /// ones hashed); returns whether the entry was written.
    private func storeFingerprint(_ value: ModelFingerprint, in cache: FingerprintCache) -> Bool {
        guard let identity = weightsIdentity, WeightsFileIdentity.current(of: weightsURL) == identity else { return false }
        return cache.store(value, for: identity, preprocess: preprocess.canonicalJSON)
    }

    /// Loads and checks the model directory at `url`; throws a one-line error naming the file and key.
    public init(url: URL) throws {
        self.url = url
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CheckpointError("\(url.path): not a model directory (it does not exist or is a file)")
        }
        func existing(_ name: String) -> URL? {
            let u = url.appendingPathComponent(name)
            return fm.fileExists(atPath: u.path) ? u : nil
        }
        guard let weightsURL = Self.weightFileNames.lazy.compactMap(existing).first else {
            throw CheckpointError("\(url.path): no model.safetensors or open_clip_model.safetensors; convert .pt/.bin checkpoints with tools/convert_checkpoint.py")
        }
        self.weightsURL = weightsURL
        // The identity before and after mapping: if they differ the file was being replaced, and
        // the bytes mapped may be either version, so the fingerprint cache is not used.
        let identityBefore = WeightsFileIdentity.current(of: weightsURL)
        let file = try SafeTensorsFile(url: weightsURL)
        let identityAfter = WeightsFileIdentity.current(of: weightsURL)
        weightsIdentity = identityBefore == identityAfter && identityAfter?.size == Int64(file.fileSize) ? identityAfter : nil

        let config: ModelConfigFile?
        if CheckpointNaming.looksLikeHuggingFace(file.names) {
            naming = .huggingFace
            weights = CLIPWeights(file: file, entries: try HuggingFaceNames.entries(file))
            configURL = existing("config.json")
            config = try configURL.map { try ModelConfigFile.huggingFace($0, preprocessor: existing("preprocessor_config.json")) }
        } else {
            weights = CLIPWeights(file: file, entries: try CheckpointNaming.openAIEntries(file))
            configURL = existing("open_clip_config.json")
            let prefixed = file.names.contains { $0.hasPrefix("text.") }
            naming = prefixed || configURL != nil || weightsURL.lastPathComponent == "open_clip_model.safetensors" ? .openCLIP : .openAI
            config = try configURL.map { try ModelConfigFile.openCLIP($0) }
        }

        let inferred = try CLIPArchitecture(inferringFrom: weights)
        let architecture = try config?.reconcile(with: inferred) ?? inferred
        try Self.checkInferredHeads(architecture, path: weightsURL.path)
        self.architecture = architecture

        let expected = architecture.expectedTensors
        for e in expected {
            guard let shape = weights.shape(of: e.name) else {
                if e.required {
                    throw CheckpointError("\(weightsURL.path): missing tensor '\(e.name)' (OpenAI naming) needed by the architecture (\(architecture.summary))")
                }
                continue
            }
            guard shape == e.shape else {
                throw CheckpointError("\(weightsURL.path): tensor '\(e.name)' has shape \(shape), expected \(e.shape) for the architecture (\(architecture.summary))")
            }
        }
        let expectedNames = Set(expected.map(\.name))
        unusedTensorNames = weights.names.filter { !expectedNames.contains($0) }

        let buffers = ["num_batches_tracked", "running_mean", "running_var"]
        var parameters = 0
        for name in weights.names where !buffers.contains(where: { name.hasSuffix(".\($0)") }) {
            parameters += weights.shape(of: name)!.reduce(1, *)
        }
        parameterCount = parameters
        storedDTypeCounts = file.names.reduce(into: [:]) { $0[file.info($1)!.dtype, default: 0] += 1 }
        logitScale = try weights.tensor("logit_scale", shape: [])[0]

        var preprocess = PreprocessConfig(imageSize: architecture.vision.imageSize)
        if let stated = config?.preprocess {
            if let size = stated.imageSize, size != preprocess.imageSize {
                throw CheckpointError("\(stated.path): image size \(size) differs from the model's input resolution \(preprocess.imageSize)")
            }
            if let mean = stated.mean { preprocess.mean = mean }
            if let std = stated.std {
                guard std.allSatisfy({ $0 > 0 }) else { throw CheckpointError("\(stated.path): std \(std) must be positive") }
                preprocess.std = std
            }
        }
        self.preprocess = preprocess

        if let gz = existing("bpe_simple_vocab_16e6.txt.gz") {
            tokenizerFiles = .openAIVocabulary(gz)
        } else if let vocab = existing("vocab.json"), let merges = existing("merges.txt") {
            tokenizerFiles = .vocabAndMerges(vocab: vocab, merges: merges)
        } else {
            tokenizerFiles = nil
        }
    }

    /// Heads inferred as width/64 must exist and divide the width (a config can state them instead).
    private static func checkInferredHeads(_ a: CLIPArchitecture, path: String) throws {
        var towers = [("text", a.text.width, a.text.heads)]
        switch a.vision {
        case .vit(let v): towers.append(("vision", v.width, v.heads))
        case .modifiedResNet(let r): towers.append(("attention-pool", r.embeddingWidth, r.heads))
        }
        for (tower, width, heads) in towers where heads < 1 || width % heads != 0 {
            throw CheckpointError("\(path): \(tower) width \(width) gives \(heads) heads of 64; state the heads in open_clip_config.json or config.json")
        }
    }
}

/// The tokenizer vocabulary files of a model directory; `BPETokenizer(directory:)` reads them.
public enum TokenizerFiles: Equatable, Sendable {
    /// OpenAI's gzip'ed merge list `bpe_simple_vocab_16e6.txt.gz`.
    case openAIVocabulary(URL)
    /// Hugging Face `vocab.json` (token → id) and `merges.txt`.
    case vocabAndMerges(vocab: URL, merges: URL)

    public var urls: [URL] {
        switch self {
        case .openAIVocabulary(let u): return [u]
        case .vocabAndMerges(let v, let m): return [v, m]
        }
    }
}

/// The outcome of `CLIPModelDirectory.verifyFingerprint()`.
public struct FingerprintVerification: Equatable, Sendable {
    /// The cached value a normal load would have used (nil: no entry matching the file).
    public let cached: ModelFingerprint?
    /// The value hashed from the bytes.
    public let computed: ModelFingerprint
    /// The cache entry's file (nil: no cache directory, or the file could not be stat'ed).
    public let cacheFile: URL?
    /// Whether the entry now holds `computed`.
    public let cacheRefreshed: Bool
    /// A cached value existed and differs from the bytes' (the file changed without its size,
    /// times or inode changing, or the entry was edited).
    public var isMismatch: Bool { cached.map { $0 != computed } ?? false }
}

/// A model's identity for the feature store: SHA-256 over weights + preprocessing, as lower-case hex.
public struct ModelFingerprint: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// 64 hex digits.
    public let hex: String
    /// The first 16 hex digits, used as the short model id.
    public var shortID: String { String(hex.prefix(16)) }
    public var description: String { hex }
}

extension CLIPArchitecture {
    /// One line, e.g. "ViT width 768, 12 layers, 12 heads, patch 32, image 224; text width 512, 12 layers, 8 heads; embed 512".
    public var summary: String {
        let image: String
        switch vision {
        case .vit(let v): image = "ViT width \(v.width), \(v.layers) layers, \(v.heads) heads, patch \(v.patchSize), image \(v.imageSize)"
        case .modifiedResNet(let r):
            image = "ModifiedResNet \(r.blocksPerStage) width \(r.width), \(r.heads) heads, image \(r.imageSize)"
        }
        return "\(image); text width \(text.width), \(text.layers) layers, \(text.heads) heads; embed \(embedDim)"
    }
}
