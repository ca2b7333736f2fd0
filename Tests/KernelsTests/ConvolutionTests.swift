import XCTest
@testable import Kernels

/// Conv2D (im2col + our FP32 kernel, [C, B, H, W] layout) and AvgPool2D against direct Float64 loops.
final class ConvolutionTests: XCTestCase {
    private func reference(_ x: [Double], _ w: [Double], _ bias: [Double], _ s: Conv2D.Shape) -> [Double] {
        let Ho = s.outHeight, Wo = s.outWidth, k = s.kernel
        var out = [Double](repeating: 0, count: s.outChannels * s.batch * Ho * Wo)
        for o in 0..<s.outChannels { for b in 0..<s.batch { for oy in 0..<Ho { for ox in 0..<Wo {
            var acc = bias[o]
            for c in 0..<s.inChannels { for ky in 0..<k { for kx in 0..<k {
                let iy = oy * s.stride + ky - s.padding, ix = ox * s.stride + kx - s.padding
                if iy < 0 || iy >= s.height || ix < 0 || ix >= s.width { continue }
                acc += w[((o * s.inChannels + c) * k + ky) * k + kx] * x[((c * s.batch + b) * s.height + iy) * s.width + ix]
            } } }
            out[((o * s.batch + b) * Ho + oy) * Wo + ox] = acc
        } } } }
        return out
    }

    private func check(_ s: Conv2D.Shape, seed: UInt64) {
        var rng = SeededRandom(seed)
        let x = rng.array(s.inChannels * s.batch * s.height * s.width)
        let w = rng.array(s.outChannels * s.inChannels * s.kernel * s.kernel), b = rng.array(s.outChannels)
        let xt = tensor(x, [x.count]), wt = tensor(w, [w.count]), bt = tensor(b, [b.count])
        let out = Tensor(shape: [s.outChannels * s.batch * s.outHeight * s.outWidth])
        Conv2D.forward(out.data, xt.data, weight: wt.data, bias: bt.data, shape: s, columns: GrowableBuffer(), products: ProductScratch())
        XCTAssertLessThan(relativeError(out.toArray(), reference(x, w, b, s)), 1e-5, "\(s)")
    }

    private func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 500
        }
    }

    /// A convolution's outputs for one image (bias, residual, ReLU) have the bits they get with the
    /// image alone, at every slot of a batch of 3 (121 columns per image: images straddle the
    /// kernel's 16-column panels), in a lane and on 2 threads, and match Float64 loops.
    func testAnImagesOutputsDoNotDependOnTheBatch() {
        let B = 3, C = 16, H = 11, O = 64
        let s = Conv2D.Shape(batch: B, inChannels: C, height: H, width: H, outChannels: O, kernel: 3, stride: 1, padding: 1)
        let x = values(C * B * H * H, seed: 30), w = values(O * C * 9, seed: 31), bias = values(O, seed: 32)
        let residual = values(O * B * H * H, seed: 33)
        // as the encoders run it (in a lane: one thread), or split over 2 threads
        func run(_ x: [Float], _ residual: [Float], batch: Int, threads: Int = 1) -> [Float] {
            var shape = s
            shape.batch = batch
            var out = [Float](repeating: .nan, count: O * batch * H * H)
            func convolve() {
                Conv2D.forward(&out, x, weight: w, bias: bias, residual: residual, relu: true, shape: shape,
                               columns: GrowableBuffer(), products: ProductScratch())
            }
            withThreads(threads) {
                if threads == 1 { Parallel.slices(1, lanes: 1) { _, _ in convolve() } } else { convolve() }
            }
            return out
        }
        let together = run(x, residual, batch: B)
        XCTAssertEqual(run(x, residual, batch: B, threads: 2).map(\.bitPattern), together.map(\.bitPattern), "2 threads")
        let plane = H * H
        // plane `index` (channel · B + image) of a [channels, B, H, W] array, `count` images wide
        func planeOf(_ array: [Float], _ index: Int) -> [Float] { Array(array[index * plane..<(index + 1) * plane]) }
        for b in 0..<B {
            // [C, 1, H, W] of image b, and its residual [O, 1, H, W]
            let xb: [Float] = (0..<C).flatMap { (c: Int) -> [Float] in planeOf(x, c * B + b) }
            let rb: [Float] = (0..<O).flatMap { (o: Int) -> [Float] in planeOf(residual, o * B + b) }
            let alone = run(xb, rb, batch: 1)
            for o in 0..<O {
                let mine: [UInt32] = planeOf(alone, o).map(\.bitPattern)
                let inBatch: [UInt32] = planeOf(together, o * B + b).map(\.bitPattern)
                XCTAssertEqual(mine, inBatch, "image \(b), channel \(o)")
                for i in 0..<plane {
                    XCTAssertEqual(Double(alone[o * plane + i]), reference(o, i, xb, rb), accuracy: 2e-3)
                }
            }
        }
        // Float64 output of channel o at pixel i of one image: max(bias + residual + Σ w·x, 0)
        func reference(_ o: Int, _ i: Int, _ xb: [Float], _ rb: [Float]) -> Double {
            let oy = i / H, ox = i % H
            var acc = Double(bias[o]) + Double(rb[o * plane + i])
            for c in 0..<C {
                for ky in 0..<3 {
                    for kx in 0..<3 {
                        let iy = oy + ky - 1, ix = ox + kx - 1
                        guard iy >= 0, iy < H, ix >= 0, ix < H else { continue }
                        let weight: Float = w[((o * C + c) * 3 + ky) * 3 + kx]
                        acc += Double(weight) * Double(xb[(c * H + iy) * H + ix])
                    }
                }
            }
            return max(acc, 0)
        }
    }

    func testConvolutionShapes() {
        check(Conv2D.Shape(batch: 2, inChannels: 3, height: 7, width: 5, outChannels: 4, kernel: 3, stride: 2, padding: 1), seed: 1)
        check(Conv2D.Shape(batch: 2, inChannels: 4, height: 6, width: 6, outChannels: 5, kernel: 3, stride: 1, padding: 1), seed: 2)
        check(Conv2D.Shape(batch: 3, inChannels: 6, height: 4, width: 4, outChannels: 2, kernel: 1), seed: 3)
        // kernels wider than the image and no padding: rows that are all padding or all input
        check(Conv2D.Shape(batch: 2, inChannels: 2, height: 3, width: 2, outChannels: 3, kernel: 5, stride: 1, padding: 2), seed: 4)
        check(Conv2D.Shape(batch: 1, inChannels: 3, height: 5, width: 6, outChannels: 2, kernel: 3, stride: 1, padding: 0), seed: 5)
    }

    func testAveragePool() {
        let x = Tensor(shape: [1, 4, 4], values: (0..<16).map(Float.init))
        let out = Tensor(shape: [1, 2, 2])
        AvgPool2D.forward(out.data, x.data, planes: 1, height: 4, width: 4, kernel: 2)
        XCTAssertEqual(out.toArray(), [2.5, 4.5, 10.5, 12.5])
        let wide = Tensor(shape: [2, 3, 6], values: (0..<36).map(Float.init))   // two planes, kernel 3
        let pooled = Tensor(shape: [2, 1, 2])
        AvgPool2D.forward(pooled.data, wide.data, planes: 2, height: 3, width: 6, kernel: 3)
        XCTAssertEqual(pooled.toArray(), [7, 10, 25, 28])
    }
}

/// The OpenBLAS kernel-family choice the CLI re-executes with.
final class OpenBLASCoreTests: XCTestCase {
    func testChoosesAKernelFamilyTheCPUSupports() {
        let avx512: Set<String> = ["avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"]
        XCTAssertEqual(OpenBLASCore.better(than: "Prescott", cpuFlags: avx512.union(["avx512_bf16"])), "Cooperlake")
        XCTAssertEqual(OpenBLASCore.better(than: "Prescott", cpuFlags: avx512), "SkylakeX")
        XCTAssertEqual(OpenBLASCore.better(than: "Prescott", cpuFlags: ["avx", "avx2", "fma"]), "Haswell")
        XCTAssertNil(OpenBLASCore.better(than: "Prescott", cpuFlags: ["sse3"]))
        XCTAssertNil(OpenBLASCore.better(than: "Zen", cpuFlags: avx512), "a recognised CPU keeps OpenBLAS's own choice")
        XCTAssertNil(OpenBLASCore.better(than: "SkylakeX", cpuFlags: avx512.union(["avx512_bf16"])))
        XCTAssertFalse(OpenBLASCore.current.isEmpty)
    }

    /// A pinned family weaker than the CPU's best gets one line naming both and the fix; the best
    /// (or a CPU without AVX) gets none.
    func testAdvisesWhenPinnedKernelsAreWeakerThanTheCPU() throws {
        let zen5: Set<String> = ["avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd", "avx512_bf16"]
        let advice = try XCTUnwrap(OpenBLASCore.advice(loaded: "Haswell", pinned: "Haswell", cpuFlags: zen5))
        XCTAssertTrue(advice.hasPrefix("note: OPENBLAS_CORETYPE=Haswell loads OpenBLAS's Haswell kernels, but this CPU runs its Cooperlake kernels"), advice)
        XCTAssertTrue(advice.contains("unset OPENBLAS_CORETYPE (or set it to Cooperlake)"), advice)
        XCTAssertFalse(advice.contains("\n"))
        let kept = try XCTUnwrap(OpenBLASCore.advice(loaded: "Prescott", pinned: nil, cpuFlags: ["avx", "avx2", "fma"]))
        XCTAssertTrue(kept.contains("COCOON_KEEP_OPENBLAS_CORE keeps OpenBLAS's Prescott kernels") && kept.contains("its Haswell kernels"), kept)
        XCTAssertNil(OpenBLASCore.advice(loaded: "Cooperlake", pinned: "Cooperlake", cpuFlags: zen5))
        XCTAssertNil(OpenBLASCore.advice(loaded: "SkylakeX", pinned: "SkylakeX", cpuFlags: zen5), "the same sgemm kernels")
        XCTAssertNil(OpenBLASCore.advice(loaded: "Zen", pinned: nil, cpuFlags: ["avx", "avx2", "fma"]))
        XCTAssertNil(OpenBLASCore.advice(loaded: "Prescott", pinned: nil, cpuFlags: ["sse3"]))
    }
}
