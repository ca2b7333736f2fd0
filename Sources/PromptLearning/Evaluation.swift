import Foundation
import Kernels

/// Top-1 accuracy and macro-F1 (percent), as Dassl's classification evaluator reports them.
public struct EvaluationResult: Codable, Equatable {
    public var accuracy: Double
    public var macroF1: Double
    public var count: Int

    /// Scores `logits` (`[N, K]`) against `labels`. Macro-F1 averages over the classes present in
    /// the labels or the predictions (scikit-learn's `f1_score(average="macro")`).
    public init(logits: Tensor, labels: [Int]) {
        let N = labels.count, K = logits.shape[1]
        var truePositive = [Int](repeating: 0, count: K), predicted = [Int](repeating: 0, count: K)
        var actual = [Int](repeating: 0, count: K)
        var correct = 0
        for (n, best) in Predictions.argmax(logits).enumerated() {
            predicted[best] += 1
            actual[labels[n]] += 1
            if best == labels[n] { correct += 1; truePositive[best] += 1 }
        }
        var f1Sum = 0.0, present = 0
        for k in 0..<K where predicted[k] + actual[k] > 0 {
            present += 1
            f1Sum += 2 * Double(truePositive[k]) / Double(predicted[k] + actual[k])
        }
        accuracy = 100 * Double(correct) / Double(max(N, 1))
        macroF1 = 100 * f1Sum / Double(max(present, 1))
        count = N
    }

    /// Evaluates a classifier on the view-0 features of a split.
    public init(classifier: Classifier, data: FeatureSet) {
        self.init(logits: classifier.logits(images: data.evaluationFeatures()), labels: data.labels)
    }
}

/// The harmonic mean of base and new accuracy (the CoCoOp paper's H).
public func harmonicMean(_ base: Double, _ new: Double) -> Double {
    base + new > 0 ? 2 * base * new / (base + new) : 0
}

/// The mean and sample standard deviation of one number over seeds (the papers' "mean ± std");
/// `std` is nil for a single value. Used by `SeedSummary`, the reproduction tables and the demo.
public struct SeedMean: Codable, Equatable, Sendable {
    public var mean: Double
    public var std: Double?

    public init(_ values: [Double]) {
        mean = values.reduce(0, +) / Double(max(values.count, 1))
        std = values.count > 1
            ? (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)).squareRoot() : nil
    }
}

/// Per-image answers of a classifier's logits: what `EvaluationResult`, `cocoon predict` and
/// `cocoon-serve` read from them.
public enum Predictions {
    /// The highest-scoring class of each row of `logits` (`[N, K]`; the first on ties).
    public static func argmax(_ logits: Tensor) -> [Int] {
        let N = logits.shape[0], K = logits.shape[1]
        return (0..<N).map { n in
            let row = logits.data + n * K
            var best = 0
            for k in 1..<K where row[k] > row[best] { best = k }
            return best
        }
    }

    /// The `top` classes of row `n` of `logits` with their softmax probabilities, most likely
    /// first (lower class index on ties).
    public static func top(_ logits: Tensor, row n: Int, count top: Int) -> [(label: Int, probability: Double)] {
        let K = logits.shape[1], row = logits.data + n * K
        var m = row[0]
        for k in 1..<K { m = max(m, row[k]) }
        var p = (0..<K).map { Double(expf(row[$0] - m)) }
        let sum = p.reduce(0, +)
        for k in 0..<K { p[k] /= sum }
        return (0..<K).sorted { p[$0] != p[$1] ? p[$0] > p[$1] : $0 < $1 }.prefix(top).map { ($0, p[$0]) }
    }
}
