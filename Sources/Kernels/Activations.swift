import CFloat32
#if canImport(Glibc)
import Glibc
#endif

/// A smooth pointwise activation of the transformer MLPs: its value, and value with derivative, as
/// straight-line code that `Elementwise.activate`/`activateSavingDerivative` inline into their loops.
/// Each conforming type has its three passes side by side: `forward` (inference), `forwardSavingDerivative`
/// (training: keeps f′ in place of the pre-activation) and `backward` (multiplies f′ in).
/// Each conforming type's `forward`/`backward` names itself concretely, so the generic loops are
/// specialised inside this module (a generic entry point would be called across modules
/// unspecialised, through the witness table, one call per element).
public protocol SmoothActivation {
    static func value(_ x: Float) -> Float
    /// f(x) and f′(x) from one evaluation of the shared exponential.
    static func valueAndDerivative(_ x: Float) -> (value: Float, derivative: Float)
}

/// CLIP's activation `x·σ(1.702x)` (QuickGELU). `value` and `valueAndDerivative` define it; the
/// passes run them in C (`cf32_quick_gelu`: AVX-512, AVX2 or portable, the same bits as these).
public enum QuickGELU: SmoothActivation {
    /// x[r, c] += bias[c] (when given), then y = f(x), for `[rows, cols]`: the linear layer before
    /// it runs its GEMM without bias, so the bias costs no pass of its own, and `x` keeps the
    /// pre-activation `backward` needs. With `y == x` (inference) it runs in place, in one pass.
    public static func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafeMutablePointer<Float>,
                               bias: UnsafePointer<Float>? = nil, rows: Int, cols: Int, kernel: FP32Kernel = .selected) {
        run(y, x, bias: bias, rows: rows, cols: cols, savingDerivative: false, kernel: kernel)
    }

    /// The training forward: x[r, c] += bias[c], y = f(x), and `x` is overwritten with f′(x),
    /// all `backward` needs, from one exponential per element.
    public static func forwardSavingDerivative(_ y: UnsafeMutablePointer<Float>, _ x: UnsafeMutablePointer<Float>,
                                               bias: UnsafePointer<Float>? = nil, rows: Int, cols: Int,
                                               kernel: FP32Kernel = .selected) {
        run(y, x, bias: bias, rows: rows, cols: cols, savingDerivative: true, kernel: kernel)
    }

    /// Rows split over the threads, each range one C call.
    private static func run(_ y: UnsafeMutablePointer<Float>, _ x: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?,
                            rows: Int, cols: Int, savingDerivative: Bool, kernel: FP32Kernel) {
        Parallel.ranges(rows, work: rows * cols) { range in
            let offset = range.lowerBound * cols
            cf32_quick_gelu(kernel.rawValue, y + offset, x + offset, bias, Int32(range.count), Int32(cols), savingDerivative ? 1 : 0)
        }
    }

    /// The backward: dx[i] *= f′[i] for `count` elements, f′ as `forwardSavingDerivative` left it.
    public static func backward(_ dx: UnsafeMutablePointer<Float>, derivative: UnsafePointer<Float>, count: Int) {
        Elementwise.multiply(dx, by: derivative, count: count)
    }

    @inline(__always)
    public static func value(_ x: Float) -> Float { x / (1 + FastExp.exp(-1.702 * x)) }

    /// x·σ(1.702x) and σ(1.702x)·(1 + 1.702x·(1 − σ(1.702x)))
    @inline(__always)
    public static func valueAndDerivative(_ x: Float) -> (value: Float, derivative: Float) {
        let s = 1 / (1 + FastExp.exp(-1.702 * x))
        return (x * s, s * (1 + 1.702 * x * (1 - s)))
    }
}

/// Rectified linear unit, elementwise, with its derivative (CoCoOp's Meta-Net; ResNet stages).
public enum ReLU {
    /// y[i] = max(x[i], 0) (0 for NaN and −0); `y` may alias `x`.
    public static func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        Parallel.ranges(count) { r in for i in r { y[i] = x[i] > 0 ? x[i] : 0 } }
    }

    /// dx[i] = dy[i] where the forward input was positive, else 0. `dx` may alias `dy`.
    public static func backward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { dx[i] = x[i] > 0 ? dy[i] : 0 }
    }
}

extension Elementwise {
    /// x[r, c] += bias[c] (when given), then y[r, c] = F(x[r, c]); rows split over the threads.
    /// With `y == x` one pointer runs the loop, so it vectorises without an overlap check.
    @inline(__always)
    static func activate<F: SmoothActivation>(_: F.Type, _ y: UnsafeMutablePointer<Float>, _ x: UnsafeMutablePointer<Float>,
                                               bias: UnsafePointer<Float>?, rows: Int, cols: Int) {
        Parallel.ranges(rows, work: rows * cols) { range in
            for r in range {
                let xr = x + r * cols, yr = y + r * cols
                if xr == yr {
                    if let bias { for c in 0..<cols { xr[c] = F.value(xr[c] + bias[c]) } } else { for c in 0..<cols { xr[c] = F.value(xr[c]) } }
                } else if let bias {
                    for c in 0..<cols { let v = xr[c] + bias[c]; xr[c] = v; yr[c] = F.value(v) }
                } else {
                    for c in 0..<cols { yr[c] = F.value(xr[c]) }
                }
            }
        }
    }

    /// x[r, c] += bias[c] (when given), y[r, c] = F(x[r, c]), x[r, c] = F′(x[r, c]); rows split
    /// over the threads.
    @inline(__always)
    static func activateSavingDerivative<F: SmoothActivation>(_: F.Type, _ y: UnsafeMutablePointer<Float>,
                                                               _ x: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?,
                                                               rows: Int, cols: Int) {
        Parallel.ranges(rows, work: rows * cols) { range in
            for r in range {
                let xr = x + r * cols, yr = y + r * cols
                if let bias {
                    for c in 0..<cols { let (f, d) = F.valueAndDerivative(xr[c] + bias[c]); yr[c] = f; xr[c] = d }
                } else {
                    for c in 0..<cols { let (f, d) = F.valueAndDerivative(xr[c]); yr[c] = f; xr[c] = d }
                }
            }
        }
    }

    /// dx[i] *= f′[i]: the activations' backward, with f′ saved by their training forward.
    static func multiply(_ dx: UnsafeMutablePointer<Float>, by derivative: UnsafePointer<Float>, count: Int) {
        Parallel.ranges(count) { r in
            for i in r { dx[i] *= derivative[i] }
        }
    }
}

/// Elementwise helpers shared by the layers (residual adds, scaling).
public enum Elementwise {
    /// y[i] += x[i], split over the threads when long.
    @inline(__always)
    public static func add(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        Parallel.ranges(count) { range in for i in range { y[i] += x[i] } }
    }

    /// y[r, c] += x[r, c] + bias[c] for `[rows, cols]`: a residual add taking the bias of the
    /// linear layer that produced `x`; rows split over the threads.
    public static func add(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                           rows: Int, cols: Int) {
        Parallel.ranges(rows, work: rows * cols) { range in
            for r in range {
                let yr = y + r * cols, xr = x + r * cols
                for c in 0..<cols { yr[c] += xr[c] + bias[c] }
            }
        }
    }

    /// y[i] = x[i] for `count` elements, split over the threads (activations kept for backward).
    public static func copy(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        Parallel.ranges(count) { range in (y + range.lowerBound).update(from: x + range.lowerBound, count: range.count) }
    }

    /// Σ x[i]²
    public static func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Float {
        Reduce.dot(x, x, count: count)
    }

    /// Rows of `x` (`[rows, dim]`) scaled to unit L2 norm in place: `Normalize.forward`, under the
    /// name the encoders, the store's consumers and the adapters call it by.
    @discardableResult
    public static func normalizeRows(_ x: UnsafeMutablePointer<Float>, rows: Int, dim: Int) -> [Float] {
        Normalize.forward(x, rows: rows, dim: dim)
    }
}

/// Exact GELU `x·Φ(x)` (`nn.GELU`, open_clip models without QuickGELU).
public enum GELU: SmoothActivation {
    /// x[r, c] += bias[c] (when given), then y = f(x), as `QuickGELU.forward`.
    public static func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafeMutablePointer<Float>,
                               bias: UnsafePointer<Float>? = nil, rows: Int, cols: Int) {
        Elementwise.activate(GELU.self, y, x, bias: bias, rows: rows, cols: cols)
    }

    /// The training forward, as `QuickGELU.forwardSavingDerivative`.
    public static func forwardSavingDerivative(_ y: UnsafeMutablePointer<Float>, _ x: UnsafeMutablePointer<Float>,
                                               bias: UnsafePointer<Float>? = nil, rows: Int, cols: Int) {
        Elementwise.activateSavingDerivative(GELU.self, y, x, bias: bias, rows: rows, cols: cols)
    }

    /// The backward, as `QuickGELU.backward`.
    public static func backward(_ dx: UnsafeMutablePointer<Float>, derivative: UnsafePointer<Float>, count: Int) {
        Elementwise.multiply(dx, by: derivative, count: count)
    }

    @inline(__always)
    public static func value(_ x: Float) -> Float { 0.5 * x * (1 + erff(x * 0.70710678118654752)) }

    /// x·Φ(x) and Φ(x) + x·φ(x)
    @inline(__always)
    public static func valueAndDerivative(_ x: Float) -> (value: Float, derivative: Float) {
        let cdf = 0.5 * (1 + erff(x * 0.70710678118654752))
        let pdf = FastExp.exp(-0.5 * x * x) * 0.39894228040143268
        return (x * cdf, cdf + x * pdf)
    }
}
