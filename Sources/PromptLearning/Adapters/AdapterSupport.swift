import Kernels

/// L2-normalised features `[N, D]` with their labels: a selection (val) or test split as the
/// adapters' searches and selection loops read it (Tip-Adapter's α/β search, Tip-Adapter-F's best
/// epoch, LP++'s best iteration).
public struct LabeledFeatures {
    /// `[N, D]`, unit rows.
    public let features: Tensor
    public let labels: [Int]

    public init(features: Tensor, labels: [Int]) {
        precondition(features.shape.count == 2 && features.shape[0] == labels.count, "features [N, D] and N labels")
        self.features = features; self.labels = labels
    }

    /// View 0 (the evaluation transform) of every item of a split.
    public init(_ set: FeatureSet) {
        self.init(features: set.evaluationFeatures(), labels: set.labels)
    }

    public var count: Int { labels.count }

    /// Top-1 accuracy (percent) of `logits` `[N, C]` against the labels; the first maximum wins.
    public func accuracy(_ logits: Tensor) -> Double {
        var correct = 0
        for (n, best) in Predictions.argmax(logits).enumerated() where best == labels[n] { correct += 1 }
        return 100 * Double(correct) / Double(max(count, 1))
    }
}

/// Text classifiers the adapters start from, built from per-template text features the caller
/// encodes (`[T, C, D]`: template t, class c, raw = unnormalised).
public enum AdapterText {
    /// Tip-Adapter's `clip_classifier` (also LP++'s): per class, every template's feature
    /// L2-normalised, averaged over the templates, re-normalised. Returns W `[C, D]` with unit rows
    /// (the official `clip_weights` is `[D, C]`, its transpose).
    public static func ensembleWeights(templateFeatures t: Tensor) -> Tensor {
        let T = t.shape[0], C = t.shape[1], D = t.shape[2]
        let normalized = t.copy()
        Elementwise.normalizeRows(normalized.data, rows: T * C, dim: D)
        let weights = Tensor(shape: [C, D])
        for c in 0..<C {
            let out = weights.data + c * D
            for k in 0..<T { Elementwise.add(out, normalized.data + (k * C + c) * D, count: D) }
            for i in 0..<D { out[i] /= Float(T) }     // .mean(dim=0)
        }
        Elementwise.normalizeRows(weights.data, rows: C, dim: D)
        return weights
    }

    /// TaskRes's base classifier (`_get_base_text_features`): per class the plain mean of the
    /// templates' raw text features, neither normalised per template nor afterwards. `[C, D]`.
    public static func meanOfRaw(templateFeatures t: Tensor) -> Tensor {
        let T = t.shape[0], C = t.shape[1], D = t.shape[2]
        let base = Tensor(shape: [C, D])
        for c in 0..<C {
            let out = base.data + c * D
            for k in 0..<T { Elementwise.add(out, t.data + (k * C + c) * D, count: D) }
            for i in 0..<D { out[i] /= Float(T) }
        }
        return base
    }
}

/// Rows of a feature set gathered into a batch: `members` (item indices) with one view each.
/// The adapters' own loops (Tip-Adapter-F) read batches this way, as `Trainer` does.
enum AdapterBatch {
    /// `[B, D]` rows `offsets[item] + view` of `data`, and the items' labels.
    static func gather(_ data: FeatureSet, items: [Int], views: [Int]) -> (images: Tensor, labels: [Int]) {
        let D = data.dim
        let images = Tensor(shape: [items.count, D])
        data.values.withUnsafeBufferPointer { v in
            for (row, (i, view)) in zip(items, views).enumerated() {
                (images.data + row * D).update(from: v.baseAddress! + (data.offsets[i] + view) * D, count: D)
            }
        }
        return (images, items.map { data.labels[$0] })
    }

    /// An augmented view of item `i` drawn as `Trainer` draws it: uniform among views 1…, or view 0
    /// when the item has no augmented view.
    static func randomView(_ data: FeatureSet, item i: Int, random: inout TrainingRandom) -> Int {
        let views = data.offsets[i + 1] - data.offsets[i]
        return views > 1 ? 1 + random.below(views - 1) : 0
    }
}
