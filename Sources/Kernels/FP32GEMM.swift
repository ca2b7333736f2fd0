import CFloat32
import Foundation

/// The micro-kernel of `FP32GEMM`: AVX-512F, AVX2 + FMA or portable C. All three compute every
/// element as the same fused multiply-add chain, so they give the same bits; only speed differs.
public enum FP32Kernel: Int32, CaseIterable, Sendable {
    case portable = 0, avx2 = 1, avx512 = 2

    /// The fastest kernel this CPU runs (cpuid, and the OS saving the vector state).
    public static let best = FP32Kernel(rawValue: cf32_best_kernel()) ?? .portable

    /// The kernel products run: `best`, or `COCOON_FP32_KERNEL` (`portable`, `avx2`, `avx512`)
    /// when set to one this CPU runs (benchmarks stand in for an AVX2-only machine with `avx2`).
    public static let selected: FP32Kernel = {
        guard let name = ProcessInfo.processInfo.environment["COCOON_FP32_KERNEL"],
              let chosen = FP32Kernel.allCases.first(where: { "\($0)" == name.lowercased() }),
              chosen.rawValue <= best.rawValue else { return best }
        return chosen
    }()

    /// Names the kernels' arithmetic in a store's numerics record (cache-schema §4.7): the same on
    /// every CPU and micro-kernel; a new summation order would take a new name. Version 2: the
    /// ResNet's convolutions run in it too (version 1 left them in OpenBLAS).
    public static let version = "cocoon FP32 kernel 2"
}

/// A model's frozen weights in the panel layout `FP32GEMM` reads, packed once on first use and
/// shared by every lane and thread (keyed by the FP32 weight's address, which lives as long as the
/// model, and the layout). Held by each `ResidualBlock` and by the image encoders for their other
/// linear layers. Lookups take a read lock only, so concurrent lanes never wait for each other
/// once a weight is packed.
public final class FP32Weights: @unchecked Sendable {
    private enum Layout { case transposed, plain }
    private struct Key: Hashable { let address: Int; let layout: Layout }
    private let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
    private var packed: [Key: UnsafeMutablePointer<Float>] = [:]

    public init() { pthread_rwlock_init(lock, nil) }

    deinit {
        for p in packed.values { p.deallocate() }
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    private func cached(_ w: UnsafePointer<Float>, _ layout: Layout, n: Int, k: Int,
                        rowStep: Int, columnStep: Int) -> UnsafePointer<Float> {
        let key = Key(address: Int(bitPattern: w), layout: layout)
        pthread_rwlock_rdlock(lock)
        let found = packed[key]
        pthread_rwlock_unlock(lock)
        if let found { return UnsafePointer(found) }
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        if let p = packed[key] { return UnsafePointer(p) }
        let count = max(cf32_panel_elements(Int32(n), Int32(k)), 1)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
        let p = raw.bindMemory(to: Float.self, capacity: count)
        cf32_pack(w, Int32(k), Int32(n), rowStep, columnStep, p)
        packed[key] = p
        return UnsafePointer(p)
    }

    /// Panels of `Wᵀ` `[k, n]` for `x·Wᵀ`, W `[n, k]` (a linear layer's weight, forward).
    func transposed(_ w: UnsafePointer<Float>, n: Int, k: Int) -> UnsafePointer<Float> {
        cached(w, .transposed, n: n, k: k, rowStep: 1, columnStep: k)
    }

    /// Panels of `W` `[k, n]` for `dy·W` (a linear layer's weight `[out, in]`, input gradient).
    func plain(_ w: UnsafePointer<Float>, k: Int, n: Int) -> UnsafePointer<Float> {
        cached(w, .plain, n: n, k: k, rowStep: n, columnStep: 1)
    }
}

/// FP32 products against frozen weights in our own kernel (`CFloat32`): the weights packed once
/// (`FP32Weights`), the activations blocked inside the kernel (the caller holds no scratch). Every
/// output element is one multiply-add chain over its own row and column, so a row's bits depend on nothing else in the call (slot, batch
/// size, lanes, threads, kernel): the image encoders need no sample padding, and no OpenBLAS
/// threads spin between calls. Called through `ProductScratch` by `ResidualBlock` and the image
/// encoders (every linear layer and projection), and by `Conv2D` (`weightTimes`: the ResNet's
/// convolutions, activations packed per call).
public enum FP32GEMM {
    /// `y[rows, N] = x[rows, K] · Wᵀ + bias` (a linear layer, W `[N, K]`).
    public static func linear(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                              bias: UnsafePointer<Float>?, rows: Int, inFeatures K: Int, outFeatures N: Int,
                              weights: FP32Weights, kernel: FP32Kernel = .selected) {
        product(y, x, panels: weights.transposed(weight, n: N, k: K), bias: bias, rows: rows, k: K, n: N, kernel: kernel)
    }

    /// `dx[rows, K] = dy[rows, N] · W`: the input gradient of the linear layer `x·Wᵀ`, W `[N, K]`.
    public static func backwardInput(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                     rows: Int, inFeatures K: Int, outFeatures N: Int, weights: FP32Weights,
                                     kernel: FP32Kernel = .selected) {
        multiply(dx, dy, by: weight, rows: rows, k: N, n: K, weights: weights, kernel: kernel)
    }

    /// `c[rows, n] = a[rows, k] · B`, B `[k, n]` row-major and frozen: a projection stored `[in, out]`
    /// (the ViT's `proj`), or a linear layer's input gradient.
    public static func multiply(_ c: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, by b: UnsafePointer<Float>,
                                rows: Int, k: Int, n: Int, weights: FP32Weights, kernel: FP32Kernel = .selected) {
        product(c, a, panels: weights.plain(b, k: k, n: n), bias: nil, rows: rows, k: k, n: n, kernel: kernel)
    }

    /// `c[m, n] = w[m, k] · x[k, n]`: a frozen weight on the left, row-major as stored (a
    /// convolution's `[Cout, Cin·k·k]`, read in place), times activations `x` packed block by block
    /// inside the kernel (im2col columns, or the input itself for a 1×1 convolution). Every
    /// column's results are its own chains: an image's outputs never depend on the rest of the batch.
    public static func weightTimes(_ c: UnsafeMutablePointer<Float>, weight w: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
                                   rows m: Int, k: Int, columns n: Int, kernel: FP32Kernel = .selected) {
        split(rows: m, k: k, columns: n) { r, count, j, width in
            cf32_gemm_rows(kernel.rawValue, w + r * k, Int32(count), Int32(k), Int32(k), x + j, Int32(n), Int32(width),
                           c + r * n + j, Int32(n))
        }
    }

    /// `c[rows, n] = a[rows, k] · B + bias`, B packed once (`FP32Weights`).
    static func product(_ c: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, panels: UnsafePointer<Float>,
                        bias: UnsafePointer<Float>?, rows m: Int, k: Int, n: Int, kernel: FP32Kernel) {
        split(rows: m, k: k, columns: n) { r, count, j, width in
            cf32_gemm(kernel.rawValue, a + r * k, Int32(count), Int32(k), Int32(k), panels + j * k, Int32(width),
                      bias.map { $0 + j }, c + r * n + j, Int32(n))
        }
    }

    /// Calls `run(firstRow, rowCount, firstColumn, columnCount)` over `Threads.current` threads
    /// (inline inside `Parallel.slices` lanes, where that is 1): rows split in whole 12-row tiles,
    /// or columns in whole 32-column panel pairs when that leaves the busiest thread less to do
    /// (few tiles, or a tile count that divides unevenly: 11 tiles on 2 threads are 6 + 5, 48
    /// pairs 24 + 24). Neither split changes a bit.
    private static func split(rows m: Int, k: Int, columns n: Int, _ run: (Int, Int, Int, Int) -> Void) {
        guard m > 0, n > 0 else { return }
        ProductWork.add(rows: m, k: k, n: n)
        let tiles = (m + 11) / 12, pairs = (n + 31) / 32
        let threads = m * k * n >= 1 << 20 ? min(Threads.current, max(tiles, pairs)) : 1
        let rowShare = (tiles + threads - 1) / threads * 12, columnShare = (pairs + threads - 1) / threads * 32
        if threads == 1 {
            run(0, m, 0, n)
        } else if min(rowShare, m) * n <= m * min(columnShare, n) {
            Parallel.perform(threads) { t in
                let first = t * rowShare
                if first < m { run(first, min(rowShare, m - first), 0, n) }
            }
        } else {
            Parallel.perform(threads) { t in
                let first = t * columnShare
                if first < n { run(0, m, first, min(columnShare, n - first)) }
            }
        }
    }
}
