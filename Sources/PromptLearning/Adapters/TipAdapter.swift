import Datasets
import Kernels

#if canImport(Glibc)
import Glibc
#endif

/// Tip-Adapter (Zhang et al., ECCV 2022; gaopengcuhk/Tip-Adapter `main.py`, `utils.py`): zero-shot
/// CLIP plus a key-value cache of the few-shot training images,
/// `logits = 100·f·Wᵀ + α·exp(−β·(1 − f·Kᵀ))·L` for L2-normalised image features f `[B, D]`, the
/// text classifier W `[C, D]`, the cache keys K `[NK, D]` and the one-hot values L `[NK, C]`.
/// The constant 100 is the official code's (not CLIP's logit scale). Training-free; Tip-Adapter-F
/// (`TipAdapterF`) trains `keys` in place. Evaluation, the α/β search and the classifier export read it.
public final class TipAdapter: Classifier {
    /// W `[C, D]`, unit rows (`AdapterText.ensembleWeights`); the official `clip_weights` is `[D, C]`.
    public let textWeights: Tensor
    /// K `[NK, D]`: `cacheKeys(rawViews:)` (unit rows), after Tip-Adapter-F the trained
    /// `adapter.weight` (no longer unit). The official `cache_keys` is `[D, NK]`, its transpose.
    public let keys: Tensor
    /// The class of each key; the values are their one-hot rows (`values`).
    public let keyLabels: [Int]
    /// Residual ratio α and sharpness β (official `init_alpha`, `init_beta`; after a search, its pick).
    public var alpha: Double
    public var beta: Double
    public var classes: Int { textWeights.shape[0] }

    public init(textWeights: Tensor, keys: Tensor, keyLabels: [Int], alpha: Double, beta: Double = 1) {
        precondition(keys.shape.count == 2 && keys.shape[0] == keyLabels.count && keys.shape[1] == textWeights.shape[1])
        precondition(keyLabels.allSatisfy { (0..<textWeights.shape[0]).contains($0) })
        self.textWeights = textWeights; self.keys = keys; self.keyLabels = keyLabels
        self.alpha = alpha; self.beta = beta
    }

    /// Cache keys from **raw** (unnormalised) image features `[NK, V, D]`: V augmented passes per
    /// training image (official `augment_epoch` = 10), averaged per image, then L2-normalised
    /// (`build_cache_model`). Averaging raw features weighs each pass by its norm, unlike
    /// averaging normalised ones: the caller must pass the store's raw values. Returns `[NK, D]`.
    public static func cacheKeys(rawViews: Tensor) -> Tensor {
        let NK = rawViews.shape[0], V = rawViews.shape[1], D = rawViews.shape[2]
        let keys = Tensor(shape: [NK, D])
        for n in 0..<NK {
            let out = keys.data + n * D
            for v in 0..<V { Elementwise.add(out, rawViews.data + (n * V + v) * D, count: D) }
            for i in 0..<D { out[i] /= Float(V) }          // .mean(dim=0) over the passes
        }
        Elementwise.normalizeRows(keys.data, rows: NK, dim: D)
        return keys
    }

    /// L = one-hot(keyLabels) `[NK, C]` (fp16 in the official code, fp32 here).
    public var values: Tensor {
        let L = Tensor(shape: [keyLabels.count, classes])
        for (j, c) in keyLabels.enumerated() { L[j * classes + c] = 1 }
        return L
    }

    /// f·Kᵀ `[B, NK]` for normalised features `[B, D]` (Tip-Adapter-F's `adapter(f)`).
    public func affinity(_ images: Tensor) -> Tensor {
        let B = images.shape[0], D = images.shape[1], NK = keyLabels.count
        let out = Tensor(shape: [B, NK])
        GEMM.sgemm(transB: true, m: B, n: NK, k: D, a: images.data, lda: D, b: keys.data, ldb: D, c: out.data, ldc: NK)
        return out
    }

    /// Zero-shot part 100·f·Wᵀ `[B, C]`.
    func clipLogits(_ images: Tensor) -> Tensor {
        CosineLoss.logits(images: images, text: textWeights, scale: 100)
    }

    /// exp(−(β − β·A))·L `[B, C]` from the affinity A `[B, NK]` (the official expression, in its order).
    func cacheLogits(affinity: Tensor, beta: Double) -> Tensor {
        let B = affinity.shape[0], NK = keyLabels.count, C = classes, b = Float(beta)
        let out = Tensor(shape: [B, C])
        keyLabels.withUnsafeBufferPointer { labels in
            Parallel.ranges(B, work: B * NK) { rows in
                for r in rows {
                    let a = affinity.data + r * NK, o = out.data + r * C
                    for j in 0..<NK { o[labels[j]] += expf(-(b - b * a[j])) }
                }
            }
        }
        return out
    }

    /// clip + cache·α `[B, C]`.
    static func combine(clip: Tensor, cache: Tensor, alpha: Double) -> Tensor {
        let out = Tensor(shape: clip.shape), a = Float(alpha)
        for i in 0..<out.count { out[i] = clip[i] + cache[i] * a }
        return out
    }

    public func logits(images: Tensor) -> Tensor {
        logits(images: images, alpha: alpha, beta: beta)
    }

    /// Logits `[B, C]` at a given α, β.
    public func logits(images: Tensor, alpha: Double, beta: Double) -> Tensor {
        TipAdapter.combine(clip: clipLogits(images), cache: cacheLogits(affinity: affinity(images), beta: beta), alpha: alpha)
    }

    /// The official `search_hp` on `selection` (the caller's choice: the official code passes val,
    /// for ImageNet test): every β of the grid (outer loop) with every α (inner loop); the first
    /// strictly higher accuracy wins. Does not change `alpha`/`beta`; `apply` does.
    public func search(_ selection: LabeledFeatures, grid: TipAdapterSearchGrid) -> TipAdapterSearchResult {
        let clip = clipLogits(selection.features)
        let affinity = affinity(selection.features)     // the official recomputes it per point: same values
        let betas = grid.betas, alphas = grid.alphas
        var best = TipAdapterSearchResult(betaIndex: nil, alphaIndex: nil, beta: 0, alpha: 0, accuracy: 0)
        for (bi, beta) in betas.enumerated() {
            let cache = cacheLogits(affinity: affinity, beta: beta)
            for (ai, alpha) in alphas.enumerated() {
                let accuracy = selection.accuracy(TipAdapter.combine(clip: clip, cache: cache, alpha: alpha))
                if accuracy > best.accuracy {
                    best = TipAdapterSearchResult(betaIndex: bi, alphaIndex: ai, beta: beta, alpha: alpha, accuracy: accuracy)
                }
            }
        }
        return best
    }

    /// Sets α and β to a search's pick (left alone when the search found no accuracy above 0,
    /// where the official code would use β = α = 0).
    public func apply(_ result: TipAdapterSearchResult) {
        guard result.betaIndex != nil else { return }
        alpha = result.alpha; beta = result.beta
    }
}

/// The official α/β search grid: β_i = 0.1 + i·(S_β − 0.1)/n_β, α_i = 0.1 + i·(S_α − 0.1)/n_α,
/// i = 0..<n (`search_scale`, `search_step`); computed in Double in Python's order.
public struct TipAdapterSearchGrid: Codable, Equatable {
    public var betaScale: Double, alphaScale: Double
    public var betaSteps: Int, alphaSteps: Int

    public init(betaScale: Double, alphaScale: Double, betaSteps: Int = 200, alphaSteps: Int = 20) {
        self.betaScale = betaScale; self.alphaScale = alphaScale; self.betaSteps = betaSteps; self.alphaSteps = alphaSteps
    }

    public var betas: [Double] { (0..<betaSteps).map { Double($0) * (betaScale - 0.1) / Double(betaSteps) + 0.1 } }
    public var alphas: [Double] { (0..<alphaSteps).map { Double($0) * (alphaScale - 0.1) / Double(alphaSteps) + 0.1 } }
}

/// A search's pick: grid indices (nil when no point beat 0 %), values and selection accuracy (%).
public struct TipAdapterSearchResult: Codable, Equatable {
    public var betaIndex: Int?, alphaIndex: Int?
    public var beta: Double, alpha: Double
    public var accuracy: Double
}

/// Tip-Adapter's per-dataset settings (`configs/<dataset>.yaml`), keyed by cocoon's canonical
/// dataset names. The CLI and `reproduce` read them; every value can be overridden.
public struct TipAdapterSettings: Codable, Equatable {
    public var initAlpha: Double
    public var initBeta: Double = 1
    public var search: TipAdapterSearchGrid
    /// Augmented passes averaged into each key.
    public var augmentEpochs = 10
    /// Tip-Adapter-F's `train_epoch` (EuroSAT 100, else 20), `lr`, batch size.
    public var trainEpochs = 20
    public var learningRate = 0.001
    public var batchSize = 256

    /// The official config of a dataset (`init_alpha`, `search_scale`, `train_epoch`; search steps
    /// (200, 20), `init_beta` 1 everywhere); nil for datasets without one (ImageNet variants, custom).
    public static func official(dataset: String) -> TipAdapterSettings? {
        let table: [String: (alpha: Double, scaleBeta: Double, scaleAlpha: Double, epochs: Int)] = [
            "ImageNet": (1.17, 7, 3, 20), "Caltech101": (3, 12, 5, 20), "DescribableTextures": (2, 13, 13, 20),
            "EuroSAT": (2, 12, 10, 100), "FGVCAircraft": (5, 30, 30, 20), "Food101": (1.17, 10, 10, 20),
            "OxfordFlowers": (10, 50, 50, 20), "OxfordPets": (1.17, 7, 3, 20), "StanfordCars": (3, 20, 10, 20),
            "SUN397": (1.17, 12, 10, 20), "UCF101": (3, 7, 3, 20),
        ]
        guard let name = try? DatasetCatalog.canonicalName(dataset), let row = table[name] else { return nil }
        var s = TipAdapterSettings(initAlpha: row.alpha, search: TipAdapterSearchGrid(betaScale: row.scaleBeta, alphaScale: row.scaleAlpha))
        s.trainEpochs = row.epochs
        return s
    }

    /// The templates of the text classifier (the official `datasets/<name>.py`): ImageNet's seven
    /// `IMAGENET_TEMPLATES_SELECT`, otherwise CoOp's one hand-crafted template. LP++ uses the same.
    public static func templates(dataset: String) -> [String] {
        let name = (try? DatasetCatalog.canonicalName(dataset)) ?? dataset
        if name == "ImageNet" { return PromptTemplates.imagenetTemplatesSelect }
        return [PromptTemplates.custom[name] ?? PromptTemplates.photo]
    }
}
