import Datasets
import Dispatch
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
/// dataset names: part of `Hyperparameters` for Tip-Adapter and Tip-Adapter-F (whose epochs,
/// learning rate and batch are the ordinary fields). Every value can be overridden.
public struct TipAdapterSettings: Codable, Equatable {
    public var initAlpha: Double
    public var initBeta: Double = 1
    public var search: TipAdapterSearchGrid
    /// Augmented views averaged into each key (the official `augment_epoch` passes).
    public var augmentViews = 10
    /// Tip-Adapter-F: which epoch's keys are kept.
    public var keep: KeptKeys = .lastEpoch
    /// Which epoch's trained keys Tip-Adapter-F keeps: the last, or the one with the best accuracy
    /// on the selection data (the official code keeps the best **test** epoch; cocoon selects on
    /// validation data unless `--select-on-test`).
    public enum KeptKeys: String, Codable, CaseIterable { case lastEpoch = "last", bestOnSelection = "best" }

    public init(initAlpha: Double, initBeta: Double = 1, search: TipAdapterSearchGrid) {
        self.initAlpha = initAlpha; self.initBeta = initBeta; self.search = search
    }

    /// The official config of a dataset (`init_alpha`, `search_scale`, and Tip-Adapter-F's
    /// `train_epoch`; search steps (200, 20), `init_beta` 1 everywhere). Datasets without one
    /// (ImageNet variants, custom datasets, the demo world) get the ImageNet / OxfordPets config:
    /// α 1.17, scales (7, 3), 20 epochs.
    public static func official(dataset: String) -> (settings: TipAdapterSettings, trainEpochs: Int) {
        let table: [String: (alpha: Double, scaleBeta: Double, scaleAlpha: Double, epochs: Int)] = [
            "ImageNet": (1.17, 7, 3, 20), "Caltech101": (3, 12, 5, 20), "DescribableTextures": (2, 13, 13, 20),
            "EuroSAT": (2, 12, 10, 100), "FGVCAircraft": (5, 30, 30, 20), "Food101": (1.17, 10, 10, 20),
            "OxfordFlowers": (10, 50, 50, 20), "OxfordPets": (1.17, 7, 3, 20), "StanfordCars": (3, 20, 10, 20),
            "SUN397": (1.17, 12, 10, 20), "UCF101": (3, 7, 3, 20),
        ]
        let name = (try? DatasetCatalog.canonicalName(dataset)) ?? dataset
        let row = table[name] ?? table["ImageNet"]!
        return (TipAdapterSettings(initAlpha: row.alpha, search: TipAdapterSearchGrid(betaScale: row.scaleBeta, alphaScale: row.scaleAlpha)),
                row.epochs)
    }

    /// The templates of the text classifier (the official `datasets/<name>.py`): ImageNet's seven
    /// `IMAGENET_TEMPLATES_SELECT`, otherwise CoOp's one hand-crafted template. LP++ uses the same.
    public static func templates(dataset: String?) -> [String] {
        let name = dataset.flatMap { try? DatasetCatalog.canonicalName($0) } ?? dataset ?? ""
        if name == "ImageNet" { return PromptTemplates.imagenetTemplatesSelect }
        return [PromptTemplates.custom[name] ?? PromptTemplates.photo]
    }
}

/// A Tip-Adapter or Tip-Adapter-F run: the cache built from the few-shot training set, then (for
/// Tip-Adapter-F) the keys trained epoch by epoch, and once every epoch is done α and β searched
/// on the selection data. Takes seconds on cached features, so its checkpoint is written once,
/// when finished; the checkpoint holds the cache (`cache_keys` `[NK, D]`, `cache_labels` `[NK]`)
/// and α, β exactly, and the text classifier is rebuilt from the templates.
public final class TipAdapterRun: MethodRun {
    public let adapter: TipAdapter
    public let hyperparameters: Hyperparameters
    let training: TipAdapterF.Training?
    let selection: LabeledFeatures?
    let selectionSource: SelectionSource?
    var random: TrainingRandom
    public private(set) var log: [EpochLog] = []
    public private(set) var selected: SelectionReport?

    init(adapter: TipAdapter, hyperparameters h: Hyperparameters, input: TrainingInput, random: TrainingRandom) throws {
        self.adapter = adapter; self.hyperparameters = h; self.random = random
        selection = try input.requireSelection("Tip-Adapter")
        selectionSource = input.selectionSource
        training = h.epochs > 0 ? TipAdapterF.Training(adapter, data: input.train, options: TipAdapterF.Options(h), selection: selection) : nil
        if h.epochs == 0 { search() }
    }

    /// A finished run read back (its log, α, β and cache as trained).
    init(finished adapter: TipAdapter, hyperparameters h: Hyperparameters, checkpoint: PromptCheckpoint) {
        self.adapter = adapter; self.hyperparameters = h
        training = nil; selection = nil; selectionSource = nil
        random = TrainingRandom(state: checkpoint.state.randomState)
        log = checkpoint.state.log
        selected = checkpoint.state.selected
    }

    public var epochsDone: Int { log.count }
    public var classifier: Classifier { adapter }
    public var checkpointsEveryEpoch: Bool { false }

    @discardableResult
    public func runEpoch(progress: ((Int, Int, Double, Double) -> Void)?) -> EpochLog {
        let start = DispatchTime.now().uptimeNanoseconds
        let e = training!.runEpoch(random: &random, progress: progress)
        let entry = EpochLog(epoch: e.epoch, learningRate: e.learningRate, loss: e.loss, accuracy: e.accuracy,
                             seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        log.append(entry)
        if finished { search() }
        return entry
    }

    /// α, β searched on the selection data with the final keys (the official `search_hp`).
    func search() {
        guard let selection, let settings = hyperparameters.tipAdapter, let selectionSource else { return }
        let result = adapter.search(selection, grid: settings.search)
        adapter.apply(result)
        var picked = ["alpha": adapter.alpha, "beta": adapter.beta]
        if let best = training?.report.bestEpoch { picked["epoch"] = Double(best + 1) }
        selected = SelectionReport(source: selectionSource, picked: picked, accuracy: result.accuracy)
    }

    public func state() -> MethodState {
        MethodState(tensors: [("cache_keys", adapter.keys), ("cache_labels", Tensor(shape: [adapter.keyLabels.count], values: adapter.keyLabels.map(Float.init)))],
                    scalars: ["alpha": adapter.alpha, "beta": adapter.beta], selected: selected, epochsDone: epochsDone,
                    randomState: random.state, log: log)
    }

    /// The text classifier W of the context's classes (`AdapterText.ensembleWeights` over the
    /// dataset's Tip-Adapter templates).
    static func textWeights(_ context: MethodContext) throws -> Tensor {
        AdapterText.ensembleWeights(templateFeatures: try context.templateFeatures(TipAdapterSettings.templates(dataset: context.dataset)))
    }

    /// A fresh adapter: keys from the mean of each training item's first `augmentViews` raw
    /// augmented views, α and β at their initial values.
    static func build(_ input: TrainingInput, method: String) throws -> TipAdapter {
        let settings = input.context.hyperparameters.tipAdapter!
        guard let rawTrain = input.rawTrain else { preconditionFailure("\(method) averages the stored (raw) training features") }
        let raw = try rawTrain(), V = settings.augmentViews, D = raw.dim
        let views = Tensor(shape: [raw.count, V, D])                         // [NK, V, D]
        for i in 0..<raw.count {
            let have = raw.offsets[i + 1] - raw.offsets[i] - 1
            guard have >= V else {
                throw PromptError.invalid("\(method) averages \(V) augmented views per training image and an item has \(max(have, 0)); index with `cocoon index … --views \(V) --crop-scale 0.5`, or lower --augment-views")
            }
            raw.values.withUnsafeBufferPointer { v in
                (views.data + i * V * D).update(from: v.baseAddress! + (raw.offsets[i] + 1) * D, count: V * D)
            }
        }
        return TipAdapter(textWeights: try textWeights(input.context), keys: TipAdapter.cacheKeys(rawViews: views), keyLabels: raw.labels,
                          alpha: settings.initAlpha, beta: settings.initBeta)
    }

    /// The adapter of a checkpoint.
    static func load(_ checkpoint: PromptCheckpoint, context: MethodContext) throws -> TipAdapter {
        let keys = try checkpoint.required("cache_keys")
        let labels = try checkpoint.required("cache_labels", count: keys.shape.first ?? 0).toArray().map { Int($0) }
        guard let alpha = checkpoint.state.scalars["alpha"], let beta = checkpoint.state.scalars["beta"],
              labels.allSatisfy({ (0..<context.classnames.count).contains($0) }) else {
            throw PromptError.invalid("checkpoint of \(checkpoint.recipe.method) lacks α/β or has labels outside its classes; retrain it with `cocoon tune \(checkpoint.recipe.method)`")
        }
        return TipAdapter(textWeights: try textWeights(context), keys: keys, keyLabels: labels, alpha: alpha, beta: beta)
    }
}

/// Tip-Adapter and Tip-Adapter-F as methods: both build the cache from 10 augmented views (crop
/// scale 0.5–1) per few-shot image and search α, β on the full val split; they differ in their
/// defaults (Tip-Adapter trains 0 epochs).
public protocol TipAdapterFamily: MethodDefinition {}

extension TipAdapterFamily {
    public static var officialCropScale: Double { 0.5 }
    public static func selection(shots: Int?) -> SelectionKind? { .fullVal }
    public static var transfersToOtherClasses: Bool { false }
    public static var trainsOnAugmentedViews: Bool { true }

    public static func start(_ input: TrainingInput, random: inout TrainingRandom) throws -> MethodRun {
        try TipAdapterRun(adapter: TipAdapterRun.build(input, method: displayName), hyperparameters: input.context.hyperparameters,
                          input: input, random: random)
    }

    public static func resume(_ checkpoint: PromptCheckpoint, input: TrainingInput) throws -> MethodRun {
        TipAdapterRun(finished: try TipAdapterRun.load(checkpoint, context: input.context), hyperparameters: input.context.hyperparameters,
                      checkpoint: checkpoint)
    }

    public static func classifier(_ checkpoint: PromptCheckpoint, context: MethodContext) throws -> Classifier {
        try TipAdapterRun.load(checkpoint, context: context)
    }
}

/// Tip-Adapter as a method (`cocoon tune tip-adapter`): training-free, the cache and the search.
public enum TipAdapterMethod: TipAdapterFamily {
    public static let displayName = "Tip-Adapter"

    public static func defaults(shots: Int?, dataset: String) -> Hyperparameters { .tipAdapter(dataset: dataset) }
}
