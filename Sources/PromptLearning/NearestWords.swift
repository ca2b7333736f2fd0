import CLIP
import Kernels

/// The papers' interpretation of learned context (`interpret_prompt.py`): for each context vector,
/// the vocabulary tokens whose embeddings are nearest in Euclidean distance.
public enum NearestWords {
    public struct Match: Codable, Equatable {
        public var token: String
        public var distance: Float
    }

    /// For each row of `context` (`[M, W]` or `[K, M, W]`), the `top` nearest token embeddings of `model`.
    public static func search(context: Tensor, model: CLIPModel, top: Int) throws -> [[Match]] {
        let tokenizer = try model.requireTokenizer()
        return try search(context: context, table: model.text.tokenEmbedding, top: top) { tokenizer.tokenString($0) }
    }

    /// The same against any embedding table `[V, W]`, naming token ids with `name`.
    public static func search(context: Tensor, table: Tensor, top: Int, name: (Int32) -> String) throws -> [[Match]] {
        let V = table.shape[0], W = table.shape[1]
        guard context.count % W == 0 else { throw PromptError.invalid("context width differs from the model's (\(W))") }
        let M = context.count / W
        let dots = Tensor(shape: [M, V])
        GEMM.sgemm(transB: true, m: M, n: V, k: W, a: context.data, lda: W, b: table.data, ldb: W, c: dots.data, ldc: V)
        var tableNorms = [Float](repeating: 0, count: V)
        for v in 0..<V { tableNorms[v] = Elementwise.sumOfSquares(table.data + v * W, count: W) }
        var result: [[Match]] = []
        for m in 0..<M {
            let own = Elementwise.sumOfSquares(context.data + m * W, count: W)
            var distances: [(Int, Float)] = (0..<V).map { v in (v, max(own + tableNorms[v] - 2 * dots[m * V + v], 0).squareRoot()) }
            distances.sort { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
            result.append(distances.prefix(top).map { Match(token: name(Int32($0.0)), distance: $0.1) })
        }
        return result
    }
}
