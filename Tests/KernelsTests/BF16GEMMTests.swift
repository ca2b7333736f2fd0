import XCTest
@testable import Kernels

/// The BF16 kernels (`CBFloat16` through `BF16GEMM`) against a double-precision reference on
/// BF16-rounded inputs, their row and column independence, and the refusal on CPUs without AVX512-BF16.
final class BF16GEMMTests: XCTestCase {
    /// Round to nearest even, as the kernels round.
    private func bf16(_ x: Float) -> Float {
        var bits = x.bitPattern
        bits = (bits &+ 0x7fff &+ ((bits >> 16) & 1)) & 0xffff_0000
        return Float(bitPattern: bits)
    }

    private func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 500
        }
    }

    private func requireBF16() throws {
        guard BF16Support.available else { throw XCTSkip("this CPU has no AVX512-BF16") }
    }

    /// y = x·Wᵀ + bias and the input gradient dx = dy·W for odd sizes (tails of rows, pairs and
    /// 16-column panels), and one product large enough to split its rows between threads.
    func testLinearAndItsInputGradientMatchTheReferenceOnRoundedInputs() throws {
        try requireBF16()
        for (rows, K, N) in [(1, 1, 1), (13, 37, 45), (70, 64, 33), (9, 768, 96), (203, 96, 130)] {
            let x = values(rows * K, seed: 1), w = values(N * K, seed: 2), bias = values(N, seed: 3), dy = values(rows * N, seed: 4)
            var y = [Float](repeating: .nan, count: rows * N), dx = [Float](repeating: .nan, count: rows * K)
            let weights = BF16Weights(), scratch = GrowableBuffer<UInt16>()
            BF16GEMM.linear(&y, x, weight: w, bias: bias, rows: rows, inFeatures: K, outFeatures: N, weights: weights, scratch: scratch)
            BF16GEMM.backwardInput(&dx, dy, weight: w, rows: rows, inFeatures: K, outFeatures: N, weights: weights, scratch: scratch)
            // fp32 accumulation of `terms` products: error ≤ terms·2⁻²⁴·Σ|term| (far below bf16's 2⁻⁸)
            func check(_ got: Float, _ start: Double, _ terms: [(Float, Float)], _ what: String) {
                var exact = start, magnitude = abs(start)
                for (a, b) in terms {
                    let term = Double(bf16(a)) * Double(bf16(b))
                    exact += term
                    magnitude += abs(term)
                }
                XCTAssertEqual(Double(got), exact, accuracy: Double(terms.count + 1) * 6e-8 * magnitude + 1e-12, what)
            }
            for i in 0..<rows {
                for j in 0..<N {
                    check(y[i * N + j], Double(bias[j]), (0..<K).map { (x[i * K + $0], w[j * K + $0]) }, "y \(rows)×\(K)×\(N) at (\(i), \(j))")
                }
                for k in 0..<K {
                    check(dx[i * K + k], 0, (0..<N).map { (dy[i * N + $0], w[$0 * K + k]) }, "dx \(rows)×\(K)×\(N) at (\(i), \(k))")
                }
            }
        }
    }

    /// Double-precision convolution of BF16-rounded x `[Cin, B, H, W]` and w `[Cout, Cin·k·k]`, plus
    /// `bias` per output channel, then ReLU when `relu`.
    private func convolutionReference(_ x: [Float], _ w: [Float], _ bias: [Float], relu: Bool, _ s: Conv2D.Shape) -> [Double] {
        let (Ho, Wo, k) = (s.outHeight, s.outWidth, s.kernel)
        var out = [Double](repeating: 0, count: s.outChannels * s.batch * Ho * Wo)
        for o in 0..<s.outChannels { for b in 0..<s.batch { for oy in 0..<Ho { for ox in 0..<Wo {
            var acc = 0.0
            for c in 0..<s.inChannels { for ky in 0..<k { for kx in 0..<k {
                let iy = oy * s.stride + ky - s.padding, ix = ox * s.stride + kx - s.padding
                guard iy >= 0, iy < s.height, ix >= 0, ix < s.width else { continue }
                acc += Double(bf16(w[o * s.inChannels * k * k + (c * k + ky) * k + kx])) *
                    Double(bf16(x[((c * s.batch + b) * s.height + iy) * s.width + ix]))
            } } }
            let sum = acc + Double(bias[o])
            out[((o * s.batch + b) * Ho + oy) * Wo + ox] = relu ? max(sum, 0) : sum
        } } } }
        return out
    }

    /// out = conv(x) + bias (ReLU on every other shape) with im2col built inside the kernel: strides,
    /// padding, odd depths, and more output columns than one block (1728 > 1024, the block ending
    /// inside an output row).
    func testConvolutionMatchesTheReference() throws {
        try requireBF16()
        let shapes = [
            Conv2D.Shape(batch: 2, inChannels: 3, height: 9, width: 7, outChannels: 10, kernel: 3, stride: 2, padding: 1),
            Conv2D.Shape(batch: 3, inChannels: 4, height: 24, width: 24, outChannels: 9, kernel: 3, stride: 1, padding: 1),
            Conv2D.Shape(batch: 3, inChannels: 5, height: 24, width: 24, outChannels: 17, kernel: 1),
            Conv2D.Shape(batch: 2, inChannels: 2, height: 6, width: 5, outChannels: 3, kernel: 5, stride: 1, padding: 2),
        ]
        for (i, s) in shapes.enumerated() {
            let n = s.batch * s.outHeight * s.outWidth, K = s.inChannels * s.kernel * s.kernel
            let x = values(s.inChannels * s.batch * s.height * s.width, seed: 4 + UInt64(i))
            let w = values(s.outChannels * K, seed: 40 + UInt64(i)), bias = values(s.outChannels, seed: 80 + UInt64(i))
            var out = [Float](repeating: .nan, count: s.outChannels * n)
            BF16GEMM.convolution(&out, x, weight: w, bias: bias, relu: i % 2 == 1, shape: s, weights: BF16Weights(), scratch: GrowableBuffer<UInt16>())
            let exact = convolutionReference(x, w, bias, relu: i % 2 == 1, s)
            var worst = 0.0
            for j in out.indices { worst = max(worst, abs(Double(out[j]) - exact[j])) }
            XCTAssertLessThan(worst, 1e-4, "\(s)")
        }
    }

    /// A row's bits do not depend on the rows around it, nor an image's convolution outputs on the other images.
    func testRowsAndColumnsAreIndependentOfTheirNeighbours() throws {
        try requireBF16()
        let (K, N) = (300, 40)
        let x = values(23 * K, seed: 7), w = values(N * K, seed: 8)
        let weights = BF16Weights(), scratch = GrowableBuffer<UInt16>()
        var all = [Float](repeating: 0, count: 23 * N)
        BF16GEMM.linear(&all, x, weight: w, bias: nil, rows: 23, inFeatures: K, outFeatures: N, weights: weights, scratch: scratch)
        for r in [0, 7, 8, 22] {
            var alone = [Float](repeating: 0, count: N)
            x.withUnsafeBufferPointer { p in
                BF16GEMM.linear(&alone, p.baseAddress! + r * K, weight: w, bias: nil, rows: 1, inFeatures: K, outFeatures: N,
                                weights: weights, scratch: scratch)
            }
            XCTAssertEqual(alone.map(\.bitPattern), Array(all[r * N..<(r + 1) * N]).map(\.bitPattern), "row \(r)")
        }
        // a product whose rows are split between threads gets the bits of one thread
        let (M, D) = (333, 1024)
        let big = values(M * D, seed: 11), square = values(D * D, seed: 12)
        func products(threads: Int) -> [[UInt32]] {
            let before = Threads.current
            defer { _ = Threads.configure(before) }
            _ = Threads.configure(threads)
            var y = [Float](repeating: 0, count: M * D), dx = y
            BF16GEMM.linear(&y, big, weight: square, bias: nil, rows: M, inFeatures: D, outFeatures: D, weights: weights, scratch: scratch)
            BF16GEMM.backwardInput(&dx, big, weight: square, rows: M, inFeatures: D, outFeatures: D, weights: weights, scratch: scratch)
            return [y.map(\.bitPattern), dx.map(\.bitPattern)]
        }
        XCTAssertEqual(products(threads: 2), products(threads: 1))
        // columns: each image of a convolution's batch gets the bits it gets alone, across blocks
        let s = Conv2D.Shape(batch: 3, inChannels: 6, height: 20, width: 20, outChannels: 12, kernel: 3, stride: 1, padding: 1)
        let plane = s.outHeight * s.outWidth, inPlane = s.height * s.width, n = s.batch * plane
        let cx = values(s.inChannels * s.batch * inPlane, seed: 9), cw = values(s.outChannels * 54, seed: 10)
        var batch = [Float](repeating: 0, count: s.outChannels * n)
        BF16GEMM.convolution(&batch, cx, weight: cw, bias: nil, relu: false, shape: s, weights: weights, scratch: scratch)
        var single = s
        single.batch = 1
        for b in 0..<s.batch {
            var image: [Float] = []
            for c in 0..<s.inChannels { image += cx[(c * s.batch + b) * inPlane..<(c * s.batch + b + 1) * inPlane] }
            var alone = [Float](repeating: 0, count: s.outChannels * plane)
            BF16GEMM.convolution(&alone, image, weight: cw, bias: nil, relu: false, shape: single, weights: weights, scratch: scratch)
            for o in 0..<s.outChannels {
                let inBatch: ArraySlice<Float> = batch[(o * s.batch + b) * plane..<(o * s.batch + b + 1) * plane]
                let own: ArraySlice<Float> = alone[o * plane..<(o + 1) * plane]
                XCTAssertEqual(own.map(\.bitPattern), inBatch.map(\.bitPattern), "image \(b), channel \(o)")
            }
        }
    }
}
