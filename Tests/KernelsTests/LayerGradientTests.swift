import XCTest
@testable import Kernels

/// Each layer's forward against a Float64 reference, and its backward against Float64 finite differences.
final class LayerGradientTests: XCTestCase {
    func testLinearForwardAndBackward() {
        var rng = SeededRandom(1)
        let rows = 3, inF = 5, outF = 4
        let x = rng.array(rows * inF), w = rng.array(outF * inF), b = rng.array(outF), r = rng.array(rows * outF)
        let y = Tensor(shape: [rows, outF])
        let xt = tensor(x, [rows, inF]), wt = tensor(w, [outF, inF]), bt = tensor(b, [outF])
        Linear.forward(y.data, xt.data, weight: wt.data, bias: bt.data, rows: rows, inFeatures: inF, outFeatures: outF)
        XCTAssertLessThan(relativeError(y.toArray(), Ref.linear(x, w, b, rows: rows, inF: inF, outF: outF)), 1e-6)

        // L = Σ y ⊙ r  ⇒  dL/dy = r
        let dy = tensor(r, [rows, outF]), dx = Tensor(shape: [rows, inF])
        Linear.backwardInput(dx.data, dy.data, weight: wt.data, rows: rows, inFeatures: inF, outFeatures: outF)
        let gx = numericGradient(x) { dot(Ref.linear($0, w, b, rows: rows, inF: inF, outF: outF), r) }
        XCTAssertLessThan(relativeError(dx.toArray(), gx), 1e-5)

        let dW = Tensor(shape: [outF, inF]), dB = Tensor(shape: [outF])
        Linear.backwardParameters(dWeight: dW.data, dBias: dB.data, dy.data, xt.data,
                                  rows: rows, inFeatures: inF, outFeatures: outF)
        let gw = numericGradient(w) { dot(Ref.linear(x, $0, b, rows: rows, inF: inF, outF: outF), r) }
        let gb = numericGradient(b) { dot(Ref.linear(x, w, $0, rows: rows, inF: inF, outF: outF), r) }
        XCTAssertLessThan(relativeError(dW.toArray(), gw), 1e-5)
        XCTAssertLessThan(relativeError(dB.toArray(), gb), 1e-5)
    }

    func testLayerNormForwardAndBackward() {
        var rng = SeededRandom(2)
        let rows = 4, dim = 7
        let x = rng.array(rows * dim, scale: 3), g = rng.array(dim).map { 1 + 0.3 * $0 }, b = rng.array(dim), r = rng.array(rows * dim)
        let y = Tensor(shape: [rows, dim]), mean = Tensor(shape: [rows]), rstd = Tensor(shape: [rows])
        let xt = tensor(x, [rows, dim]), gt = tensor(g, [dim]), bt = tensor(b, [dim]), rt = tensor(r, [rows, dim])
        LayerNorm.forward(y.data, xt.data, gamma: gt.data, beta: bt.data, mean: mean.data, rstd: rstd.data, rows: rows, dim: dim)
        XCTAssertLessThan(relativeError(y.toArray(), Ref.layerNorm(x, g, b, rows: rows, dim: dim)), 1e-5)

        let dx = Tensor(shape: [rows, dim])
        dx.fill(0.5)
        LayerNorm.backward(dx.data, rt.data, xt.data, gamma: gt.data, mean: mean.data, rstd: rstd.data,
                           rows: rows, dim: dim, accumulate: true)
        let gx = numericGradient(x) { dot(Ref.layerNorm($0, g, b, rows: rows, dim: dim), r) }
        XCTAssertLessThan(relativeError(dx.toArray(), gx.map { $0 + 0.5 }), 1e-5)
    }

    func testQuickGELUForwardAndBackward() {
        var rng = SeededRandom(3)
        let x = rng.array(50, scale: 4), r = rng.array(50)
        let xt = tensor(x, [50]), rt = tensor(r, [50]), y = Tensor(shape: [50]), dx = Tensor(shape: [50])
        QuickGELU.forward(y.data, xt.data, rows: 1, cols: 50)
        XCTAssertLessThan(relativeError(y.toArray(), Ref.quickGELU(x)), 1e-6)
        // Training: the same values, and the input overwritten with f′, which backward multiplies in.
        let saved = tensor(x, [50]), trained = Tensor(shape: [50])
        QuickGELU.forwardSavingDerivative(trained.data, saved.data, rows: 1, cols: 50)
        XCTAssertLessThan(relativeError(trained.toArray(), Ref.quickGELU(x)), 1e-6)
        dx.data.update(from: rt.data, count: 50)
        QuickGELU.backward(dx.data, derivative: saved.data, count: 50)
        XCTAssertLessThan(relativeError(dx.toArray(), numericGradient(x) { dot(Ref.quickGELU($0), r) }), 1e-5)
    }

    /// The C passes (`cf32_quick_gelu`) give the bits of the scalar definition (`QuickGELU.value`,
    /// `valueAndDerivative`) on every kernel this CPU runs, for every float class: ±0, subnormals,
    /// both clamps of the exponential (±80/1.702, 88/1.702), ±∞, NaN, and rows whose length leaves
    /// a scalar tail after the 16- and 8-lane loops; with a bias, with none, in place.
    func testQuickGELUPassesMatchTheScalarDefinitionBitForBit() {
        var rng = SeededRandom(14)
        let subnormal = Float.leastNormalMagnitude / 2
        var inputs: [Float] = [0, -0, subnormal, -subnormal, 1, -1, 47, -47, 51.7, -51.7, 60, -60, 100, -100,
                               .infinity, -.infinity, .nan, .greatestFiniteMagnitude, -.greatestFiniteMagnitude]
        inputs += rng.array(16 * 37 - inputs.count, scale: 12).map { Float($0) }
        let cols = 37, rows = inputs.count / cols                     // 37: 2·16 + 5, 4·8 + 5
        let bias = rng.array(cols, scale: 3).map { Float($0) }
        func same(_ a: [Float], _ b: [Float], _ what: String) {
            XCTAssertEqual(a.map { $0.isNaN ? 0x7FC0_0000 : $0.bitPattern }, b.map { $0.isNaN ? 0x7FC0_0000 : $0.bitPattern }, what)
        }
        for kernel in FP32Kernel.allCases where kernel.rawValue <= FP32Kernel.best.rawValue {
            for withBias in [false, true] {
                let v = (0..<inputs.count).map { withBias ? inputs[$0] + bias[$0 % cols] : inputs[$0] }
                var x = inputs, y = [Float](repeating: 0, count: inputs.count)
                bias.withUnsafeBufferPointer { b in
                    QuickGELU.forward(&y, &x, bias: withBias ? b.baseAddress : nil, rows: rows, cols: cols, kernel: kernel)
                }
                same(y, v.map(QuickGELU.value), "\(kernel) forward, bias \(withBias)")
                same(x, v, "\(kernel) forward keeps the biased input")
                var inPlace = inputs
                bias.withUnsafeBufferPointer { b in
                    inPlace.withUnsafeMutableBufferPointer { p in
                        QuickGELU.forward(p.baseAddress!, p.baseAddress!, bias: withBias ? b.baseAddress : nil, rows: rows, cols: cols,
                                          kernel: kernel)
                    }
                }
                same(inPlace, y, "\(kernel) in place")
                var saved = inputs, trained = [Float](repeating: 0, count: inputs.count)
                bias.withUnsafeBufferPointer { b in
                    QuickGELU.forwardSavingDerivative(&trained, &saved, bias: withBias ? b.baseAddress : nil, rows: rows, cols: cols,
                                                      kernel: kernel)
                }
                same(trained, v.map { QuickGELU.valueAndDerivative($0).value }, "\(kernel) training forward")
                same(saved, v.map { QuickGELU.valueAndDerivative($0).derivative }, "\(kernel) derivative")
            }
        }
    }

    func testActivationsAddTheBiasIntoTheirInput() {
        var rng = SeededRandom(12)
        let rows = 3, cols = 7
        let x = rng.array(rows * cols, scale: 4), b = rng.array(cols, scale: 2)
        let biased = (0..<rows * cols).map { x[$0] + b[$0 % cols] }
        let bt = tensor(b, [cols])
        for gelu in [false, true] {
            let xt = tensor(x, [rows, cols]), y = Tensor(shape: [rows, cols])
            if gelu { GELU.forward(y.data, xt.data, bias: bt.data, rows: rows, cols: cols) }
            else { QuickGELU.forward(y.data, xt.data, bias: bt.data, rows: rows, cols: cols) }
            XCTAssertLessThan(relativeError(xt.toArray(), biased), 1e-7, "the input keeps the pre-activation")
            let expected = gelu ? biased.map { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) } : Ref.quickGELU(biased)
            XCTAssertLessThan(relativeError(y.toArray(), expected), 1e-6)
            let inPlace = tensor(x, [rows, cols])   // the inference path: one buffer
            if gelu { GELU.forward(inPlace.data, inPlace.data, bias: bt.data, rows: rows, cols: cols) }
            else { QuickGELU.forward(inPlace.data, inPlace.data, bias: bt.data, rows: rows, cols: cols) }
            XCTAssertEqual(inPlace.toArray(), y.toArray())
        }
        let r = rng.array(rows * cols)
        let y = tensor(x, [rows, cols]), rt = tensor(r, [rows, cols])
        Elementwise.add(y.data, rt.data, bias: bt.data, rows: rows, cols: cols)
        XCTAssertLessThan(relativeError(y.toArray(), (0..<rows * cols).map { x[$0] + r[$0] + b[$0 % cols] }), 1e-7)
    }

    func testNormalizeForwardAndBackward() {
        var rng = SeededRandom(13)
        let rows = 3, dim = 6
        let x = rng.array(rows * dim, scale: 2), r = rng.array(rows * dim)
        func reference(_ x: [Double]) -> [Double] {
            (0..<rows * dim).map { i in
                let row = x[(i / dim) * dim..<(i / dim + 1) * dim]
                return x[i] / row.reduce(0) { $0 + $1 * $1 }.squareRoot()
            }
        }
        let y = tensor(x, [rows, dim])
        let norms = Normalize.forward(y.data, rows: rows, dim: dim)
        XCTAssertLessThan(relativeError(y.toArray(), reference(x)), 1e-6)
        XCTAssertEqual(y.toArray(), { let t = tensor(x, [rows, dim]); Elementwise.normalizeRows(t.data, rows: rows, dim: dim); return t.toArray() }())
        // L = Σ x̂ ⊙ r  ⇒  dL/dx̂ = r
        let dx = tensor(r, [rows, dim])
        Normalize.backward(dx.data, normalized: y.data, norms: norms, rows: rows, dim: dim)
        XCTAssertLessThan(relativeError(dx.toArray(), numericGradient(x) { dot(reference($0), r) }), 1e-5)
        let zero = Tensor(shape: [1, dim]), dZero = tensor(Array(r.prefix(dim)), [1, dim])
        let zeroNorms = Normalize.forward(zero.data, rows: 1, dim: dim)
        Normalize.backward(dZero.data, normalized: zero.data, norms: zeroNorms, rows: 1, dim: dim)
        XCTAssertEqual(zero.toArray() + dZero.toArray(), [Float](repeating: 0, count: 2 * dim), "a zero row stays zero, gradient too")
    }

    func testReLUBackwardMasksNegativeInputs() {
        let x = tensor([-2, -0.5, 0.25, 3], [4]), dy = tensor([1, 2, 3, 4], [4]), dx = Tensor(shape: [4]), y = Tensor(shape: [4])
        ReLU.forward(y.data, x.data, count: 4)
        ReLU.backward(dx.data, dy.data, x.data, count: 4)
        XCTAssertEqual(y.toArray(), [0, 0, 0.25, 3])
        XCTAssertEqual(dx.toArray(), [0, 0, 3, 4])
    }

    private func checkAttention(B: Int, T: Int, P: Int, W: Int, H: Int, causal: Bool, groups G: Int = 1, seed: UInt64) {
        var rng = SeededRandom(seed)
        let qkv = rng.array(B * T * 3 * W), prefix = rng.array(G * P * 3 * W), r = rng.array(B * T * W)
        let shape = Attention.Shape(batch: B, length: T, prefix: P, width: W, heads: H, causal: causal, groupSize: B / G)
        let qkvT = tensor(qkv, [B, T, 3 * W]), preT = tensor(P > 0 ? prefix : [0], P > 0 ? [G, P, 3 * W] : [1])
        let out = Tensor(shape: [B, T, W]), probs = Tensor(shape: [shape.probabilityCount])
        Attention.forward(out: out.data, probs: probs.data, qkv: qkvT.data, prefixQKV: P > 0 ? preT.data : nil, shape: shape)
        let ref = Ref.attention(qkv, prefix: prefix, B: B, T: T, P: P, W: W, H: H, causal: causal, groups: G)
        XCTAssertLessThan(relativeError(out.toArray(), ref), 1e-5, "forward B\(B) T\(T) P\(P) causal \(causal)")

        let dqkv = Tensor(shape: [B, T, 3 * W]), dpre = Tensor(shape: [max(G * P, 1) * 3 * W]), rt = tensor(r, [B, T, W])
        Attention.backward(dqkv: dqkv.data, dPrefixQKV: P > 0 ? dpre.data : nil, dout: rt.data,
                           qkv: qkvT.data, prefixQKV: P > 0 ? preT.data : nil, probs: probs.data, shape: shape)
        let g = numericGradient(qkv) { dot(Ref.attention($0, prefix: prefix, B: B, T: T, P: P, W: W, H: H, causal: causal, groups: G), r) }
        XCTAssertLessThan(relativeError(dqkv.toArray(), g), 1e-4, "dqkv B\(B) T\(T) P\(P) causal \(causal)")
        if P > 0 {
            let gp = numericGradient(prefix) { dot(Ref.attention(qkv, prefix: $0, B: B, T: T, P: P, W: W, H: H, causal: causal, groups: G), r) }
            // The prefix's query columns receive nothing here (its own attention is a separate call).
            for j in 0..<G * P { for c in 0..<W { XCTAssertEqual(gp[j * 3 * W + c], 0, accuracy: 1e-9) } }
            XCTAssertLessThan(relativeError(Array(dpre.toArray().prefix(G * P * 3 * W)), gp), 1e-4, "dprefix")
        }
    }

    func testAttentionCausalBackward() { checkAttention(B: 2, T: 4, P: 0, W: 8, H: 2, causal: true, seed: 4) }
    func testAttentionBidirectionalBackward() { checkAttention(B: 2, T: 3, P: 0, W: 6, H: 3, causal: false, seed: 5) }
    func testAttentionWithSharedPrefixBackward() { checkAttention(B: 3, T: 3, P: 2, W: 8, H: 2, causal: true, seed: 6) }
    func testAttentionLongSequencesUseBLASPath() {
        checkAttention(B: 1, T: 25, P: 1, W: 2, H: 1, causal: true, seed: 10)
        checkAttention(B: 1, T: 25, P: 0, W: 2, H: 1, causal: false, seed: 11)
    }
    func testAttentionWithPerGroupPrefixesBackward() { checkAttention(B: 4, T: 2, P: 3, W: 8, H: 2, causal: true, groups: 2, seed: 7) }
}

/// Exact GELU against erf in Float64 and finite differences.
final class GELUTests: XCTestCase {
    func testGELUForwardAndBackward() {
        var rng = SeededRandom(8)
        let x = rng.array(40, scale: 4), r = rng.array(40)
        let ref: ([Double]) -> [Double] = { $0.map { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) } }
        let xt = tensor(x, [40]), rt = tensor(r, [40]), y = Tensor(shape: [40]), dx = Tensor(shape: [40])
        GELU.forward(y.data, xt.data, rows: 1, cols: 40)
        XCTAssertLessThan(relativeError(y.toArray(), ref(x)), 1e-6)
        let saved = tensor(x, [40]), trained = Tensor(shape: [40])
        GELU.forwardSavingDerivative(trained.data, saved.data, rows: 1, cols: 40)
        XCTAssertLessThan(relativeError(trained.toArray(), ref(x)), 1e-6)
        dx.data.update(from: rt.data, count: 40)
        GELU.backward(dx.data, derivative: saved.data, count: 40)
        XCTAssertLessThan(relativeError(dx.toArray(), numericGradient(x) { dot(ref($0), r) }), 1e-5)
    }
}
