#if canImport(Glibc)
import Glibc
#endif

/// CLIP's activation `x·σ(1.702x)` (QuickGELU), elementwise, with its derivative.
public enum QuickGELU {
    /// x[r, c] += bias[c] (when given), then y = x·σ(1.702·x), for `[rows, cols]`: the linear
    /// layer before it runs its GEMM without bias, so the bias costs no pass of its own, and `x`
    /// keeps the pre-activation `backward` needs. With `y == x` (inference) it runs in place.
    public static func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafeMutablePointer<Float>,
                               bias: UnsafePointer<Float>? = nil, rows: Int, cols: Int) {
        Elementwise.activate(y, x, bias: bias, rows: rows, cols: cols) { v in v / (1 + FastExp.exp(-1.702 * v)) }
    }

    /// dx[i] = dy[i]·σ(1.702x)·(1 + 1.702x·(1 − σ(1.702x))), from the saved input `x`. `dx` may alias `dy`.
    public static func backward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        Parallel.ranges(count) { r in
            for i in r {
                let v = x[i]
                let s = 1 / (1 + FastExp.exp(-1.702 * v))
                dx[i] = dy[i] * s * (1 + 1.702 * v * (1 - s))
            }
        }
    }
}

/// Rectified linear unit, elementwise, with its derivative (CoCoOp's Meta-Net; ResNet stages).
public enum ReLU {
    public static func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        Parallel.ranges(count) { r in for i in r { y[i] = max(x[i], 0) } }
    }

    /// dx[i] = dy[i] where the forward input was positive, else 0. `dx` may alias `dy`.
    public static func backward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { dx[i] = x[i] > 0 ? dy[i] : 0 }
    }
}

extension Elementwise {
    /// x[r, c] += bias[c] (when given), then y[r, c] = f(x[r, c]); rows split over the threads.
    /// With `y == x` it runs in place in one pass (x then holds the activation, not its input).
    @inline(__always)
    static func activate(_ y: UnsafeMutablePointer<Float>, _ x: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?,
                         rows: Int, cols: Int, _ f: (Float) -> Float) {
        Parallel.ranges(rows, work: rows * cols) { range in
            for r in range {
                let xr = x + r * cols, yr = y + r * cols
                if xr == yr {
                    if let bias { for c in 0..<cols { xr[c] = f(xr[c] + bias[c]) } } else { for c in 0..<cols { xr[c] = f(xr[c]) } }
                } else {
                    if let bias { for c in 0..<cols { xr[c] += bias[c] } }
                    for c in 0..<cols { yr[c] = f(xr[c]) }
                }
            }
        }
    }
}

/// Elementwise helpers shared by the layers (residual adds, scaling).
public enum Elementwise {
    /// y[i] += x[i]
    @inline(__always)
    public static func add(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { y[i] += x[i] }
    }

    /// y[r, c] += x[r, c] + bias[c] for `[rows, cols]`: a residual add taking the bias of the
    /// linear layer that produced `x`.
    public static func add(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                           rows: Int, cols: Int) {
        for r in 0..<rows {
            let yr = y + r * cols, xr = x + r * cols
            for c in 0..<cols { yr[c] += xr[c] + bias[c] }
        }
    }

    /// Σ x[i]²
    public static func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Float {
        Reduce.dot(x, x, count: count)
    }

    /// Rows of `x` (`[rows, dim]`) scaled to unit L2 norm in place (rows of zeros stay zero);
    /// returns the norms. CLIP compares features by cosine: every consumer normalises here.
    @discardableResult
    public static func normalizeRows(_ x: UnsafeMutablePointer<Float>, rows: Int, dim: Int) -> [Float] {
        var norms = [Float](repeating: 0, count: rows)
        for r in 0..<rows {
            let row = x + r * dim
            let n = sumOfSquares(row, count: dim).squareRoot()
            norms[r] = n
            let inv = n > 0 ? 1 / n : 0
            for i in 0..<dim { row[i] *= inv }
        }
        return norms
    }
}

/// Exact GELU `x·Φ(x)` (`nn.GELU`, open_clip models without QuickGELU), with its derivative.
public enum GELU {
    /// x[r, c] += bias[c] (when given), then y = x·Φ(x), as `QuickGELU.forward`.
    public static func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafeMutablePointer<Float>,
                               bias: UnsafePointer<Float>? = nil, rows: Int, cols: Int) {
        Elementwise.activate(y, x, bias: bias, rows: rows, cols: cols) { v in 0.5 * v * (1 + erff(v * 0.70710678118654752)) }
    }

    /// dx[i] = dy[i]·(Φ(x) + x·φ(x)). `dx` may alias `dy`.
    public static func backward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        Parallel.ranges(count) { r in
            for i in r {
                let v = x[i]
                let cdf = 0.5 * (1 + erff(v * 0.70710678118654752))
                let pdf = FastExp.exp(-0.5 * v * v) * 0.39894228040143268
                dx[i] = dy[i] * (cdf + v * pdf)
            }
        }
    }
}
