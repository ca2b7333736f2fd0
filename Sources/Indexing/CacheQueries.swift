import CLIP
import DatasetNames
import FeatureCache
import Kernels

/// View-0 features of one split, L2-normalised, as one contiguous matrix: what text search reads
/// from the cache.
public struct EvalFeatures {
    /// [count, dim], rows in item order.
    public var values: [Float]
    public var items: [UInt32]
    public var labels: [Int32]
    public var dim: Int
    public var count: Int { items.count }
}

/// Reads from the cache with the model's text tower: text-to-image search (the query's text
/// features, then ONE GEMM over all cached image features). Used by `cocoon query search` and the
/// tests; zero-shot classification is `TextClassifier.zeroShot` (`cocoon zeroshot`).
public enum CacheQueries {
    /// The view-0 rows of (ext, ds, split), L2-normalised.
    public static func evalFeatures(store: FeatureStore, ext: ExtractorID, ds: DatasetID, split: Split) throws -> EvalFeatures {
        let scan = try store.scan(ext: ext, ds: ds, split: split, normalized: true)   // view 0 only: no recipe
        return EvalFeatures(values: scan.values, items: scan.items, labels: scan.labels, dim: scan.dim)
    }

    /// The `top` rows with the highest cosine to `query` ([D], normalised), best first.
    public static func search(_ features: EvalFeatures, query: UnsafePointer<Float>, top: Int) -> [(row: Int, score: Float)] {
        let N = features.count, D = features.dim
        var scores = [Float](repeating: 0, count: N)                       // [N]
        features.values.withUnsafeBufferPointer { f in
            scores.withUnsafeMutableBufferPointer { s in
                GEMM.sgemm(transB: true, m: N, n: 1, k: D, a: f.baseAddress!, lda: D, b: query, ldb: D, c: s.baseAddress!, ldc: 1)
            }
        }
        let order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        return order.prefix(max(top, 0)).map { ($0, scores[$0]) }
    }
}
