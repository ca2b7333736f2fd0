import CBFloat16
import Foundation

/// The arithmetic of a tower's weight products: `fp32` (our FP32 kernel; the default, exact against the
/// references) or `bf16` (inputs and weights rounded to BF16, FP32 accumulation, on AVX512-BF16).
/// LayerNorm, softmax, attention, residual adds and the final projection stay FP32 either way.
/// Chosen by `--precision` (parsed by the CLI): the image tower's on `index`, `embed`, `predict`,
/// `demo` and `bench encode`, the text tower's (forward and input gradients) on `tune` and `bench tune`.
public enum Precision: String, CaseIterable, Codable, Sendable {
    case fp32, bf16
}

/// Whether this CPU runs the BF16 kernels (AVX-512 F/BW/VL and AVX512-BF16, zmm state saved by the OS).
public enum BF16Support {
    public static let available = cbf16_available() != 0
    /// The instruction sets the kernels need, as /proc/cpuinfo names them.
    public static let required = ["avx512f", "avx512bw", "avx512vl", "avx512_bf16"]
}

/// A model's weights in the layouts the BF16 kernel reads, packed once on first use and shared by
/// every lane of an encoder (keyed by the FP32 weight's address, which lives as long as the model,
/// and the layout).
public final class BF16Weights: @unchecked Sendable {
    private enum Layout { case transposedPanels, panels, rows }
    private struct Key: Hashable { let address: Int; let layout: Layout }
    private let lock = NSLock()
    private var packed: [Key: UnsafeMutablePointer<UInt16>] = [:]

    public init() {}

    deinit { for p in packed.values { p.deallocate() } }

    private func cached(_ w: UnsafePointer<Float>, _ layout: Layout, count: Int,
                        _ fill: (UnsafeMutablePointer<UInt16>) -> Void) -> UnsafePointer<UInt16> {
        lock.lock()
        defer { lock.unlock() }
        let key = Key(address: Int(bitPattern: w), layout: layout)
        if let p = packed[key] { return UnsafePointer(p) }
        let p = UnsafeMutablePointer<UInt16>.allocate(capacity: max(count, 1))
        fill(p)
        packed[key] = p
        return UnsafePointer(p)
    }

    /// Panels of `Wᵀ` for `x·Wᵀ`, W `[n, k]` (a linear layer's weight, forward).
    func transposedPanels(_ w: UnsafePointer<Float>, n: Int, k: Int) -> UnsafePointer<UInt16> {
        cached(w, .transposedPanels, count: cbf16_panel_elements(Int32(n), Int32(k))) {
            cbf16_pack(w, Int32(k), Int32(n), 1, k, $0)
        }
    }

    /// Panels of `W` for `dy·W`, W `[k, n]` (a linear layer's weight, input gradient).
    func panels(_ w: UnsafePointer<Float>, k: Int, n: Int) -> UnsafePointer<UInt16> {
        cached(w, .panels, count: cbf16_panel_elements(Int32(n), Int32(k))) {
            cbf16_pack(w, Int32(k), Int32(n), n, 1, $0)
        }
    }

    /// BF16 rows of W `[m, k]` for `W·X` (a convolution's weight).
    func rows(_ w: UnsafePointer<Float>, m: Int, k: Int) -> UnsafePointer<UInt16> {
        cached(w, .rows, count: m * Int(cbf16_row_stride(Int32(k)))) {
            cbf16_convert_rows(w, Int32(m), Int32(k), Int32(k), $0)
        }
    }
}

/// BF16 products with FP32 accumulation (`CBFloat16`). Every output element depends only on its
/// own row of the left operand and column of the right one, so these need no sample padding to be
/// batch-invariant. Called by `LinearKernel.bf16` (every residual block of a BF16 tower), through
/// `ProductScratch` (the image encoders' other products) and by `Conv2D` when a lane carries BF16 weights.
public enum BF16GEMM {
    /// `y[rows, N] = x[rows, K] · Wᵀ + bias` (a linear layer, W `[N, K]`).
    public static func linear(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                              bias: UnsafePointer<Float>?, rows: Int, inFeatures K: Int, outFeatures N: Int,
                              weights: BF16Weights, scratch: GrowableBuffer<UInt16>) {
        product(y, x, panels: weights.transposedPanels(weight, n: N, k: K), bias: bias, rows: rows, k: K, n: N, scratch: scratch)
    }

    /// `dx[rows, K] = dy[rows, N] · W`: the input gradient of the linear layer `x·Wᵀ`, W `[N, K]`.
    public static func backwardInput(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                     rows: Int, inFeatures K: Int, outFeatures N: Int, weights: BF16Weights, scratch: GrowableBuffer<UInt16>) {
        product(dx, dy, panels: weights.panels(weight, k: N, n: K), bias: nil, rows: rows, k: N, n: K, scratch: scratch)
    }

    /// `c[rows, n] = a[rows, k] · B + bias`, rows split over `Threads.current` threads in whole
    /// 8-row tiles (inline inside `Parallel.slices` lanes, where that is 1). Rows are independent,
    /// so the split changes no bits.
    private static func product(_ c: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, panels: UnsafePointer<UInt16>,
                                bias: UnsafePointer<Float>?, rows: Int, k: Int, n: Int, scratch: GrowableBuffer<UInt16>) {
        guard rows > 0 else { return }
        ProductWork.add(rows: rows, k: k, n: n)
        let ks = Int(cbf16_row_stride(Int32(k)))
        let a16 = scratch.pointer(capacity: rows * ks)   // [rows, k↑2] bf16
        let threads = rows * k * n >= 1 << 20 ? min(Threads.current, (rows + 7) / 8) : 1
        let per = ((rows + threads - 1) / threads + 7) / 8 * 8
        let run = { (start: Int) in
            let count = min(per, rows - start)
            guard count > 0 else { return }
            cbf16_convert_rows(a + start * k, Int32(count), Int32(k), Int32(k), a16 + start * ks)
            cbf16_gemm(a16 + start * ks, Int32(count), Int32(k), panels, Int32(n), bias, c + start * n, Int32(n))
        }
        if threads > 1 {
            Parallel.perform(threads) { run($0 * per) }
        } else {
            run(0)
        }
    }

    /// `out[Cout, B·Ho·Wo] = W[Cout, Cin·k·k] · im2col(x) + bias (+ residual)`, then ReLU when `relu`;
    /// x `[Cin, B, H, W]`, residual laid out as out.
    /// The kernel builds the im2col columns and packs them block by block (`cbf16_conv`), so no
    /// im2col matrix is made and the packed block is multiplied while it is in cache.
    public static func convolution(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                   bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>? = nil, relu: Bool, shape s: Conv2D.Shape,
                                   weights: BF16Weights, scratch: GrowableBuffer<UInt16>) {
        guard s.batch > 0 else { return }
        let K = s.inChannels * s.kernel * s.kernel
        let rows = weights.rows(weight, m: s.outChannels, k: K)
        let geometry = cbf16_conv_shape(channels: Int32(s.inChannels), batch: Int32(s.batch), height: Int32(s.height), width: Int32(s.width),
                                        kernel: Int32(s.kernel), stride: Int32(s.stride), padding: Int32(s.padding))
        cbf16_conv(rows, Int32(s.outChannels), x, geometry, bias, residual, relu ? 1 : 0, out,
                   scratch.pointer(capacity: cbf16_conv_scratch_elements(Int32(K))))
    }
}
