/// L2 normalisation of rows, `x̂ = x/‖x‖`, forward and backward. CLIP compares features by cosine:
/// every consumer normalises here (`Elementwise.normalizeRows` is the forward's name outside the
/// training paths); the learners and the adapters that train through it keep the forward's norms
/// and the normalised rows for `backward`.
public enum Normalize {
    /// Rows of `x` (`[rows, dim]`) scaled to unit L2 norm in place (rows of zeros stay zero);
    /// returns the norms `[rows]`, which `backward` needs with the normalised rows.
    @discardableResult
    public static func forward(_ x: UnsafeMutablePointer<Float>, rows: Int, dim: Int) -> [Float] {
        var norms = [Float](repeating: 0, count: rows)
        for r in 0..<rows {
            let row = x + r * dim
            let n = Reduce.dot(row, row, count: dim).squareRoot()
            norms[r] = n
            let inv = n > 0 ? 1 / n : 0
            for i in 0..<dim { row[i] *= inv }
        }
        return norms
    }

    /// dL/dx from dL/dx̂ in place: dx = (dx̂ − x̂·(x̂·dx̂)) / ‖x‖, for `[rows, dim]`, with the
    /// normalised rows x̂ and the norms `forward` returned.
    public static func backward(_ grad: UnsafeMutablePointer<Float>, normalized: UnsafePointer<Float>,
                                norms: [Float], rows: Int, dim: Int) {
        for r in 0..<rows {
            let g = grad + r * dim, y = normalized + r * dim
            let d = Reduce.dot(g, y, count: dim)
            let inv = norms[r] > 0 ? 1 / norms[r] : 0
            for i in 0..<dim { g[i] = (g[i] - y[i] * d) * inv }
        }
    }
}
