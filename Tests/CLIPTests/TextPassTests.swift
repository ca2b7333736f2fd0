import XCTest
import Kernels
@testable import CLIP

/// The text tower's training path: EOT truncation and the shared prefix are exact, and the
/// backward pass matches finite differences.
final class TextPassTests: XCTestCase {
    func testEOTTruncationIsExact() throws {
        let model = try RandomWeights.tinyText(seed: 1)
        let tokens: [[Int32]] = [
            [48, 3, 7, 49, 0, 0, 0, 0, 0, 0, 0, 0],
            [48, 9, 9, 9, 9, 2, 49, 0, 0, 0, 0, 0],
            [48, 1, 49, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ]
        let cut = model.encode(tokens: tokens)
        let full = model.encode(tokens: tokens, length: 12)
        var worst: Float = 0
        for i in 0..<cut.count { worst = max(worst, abs(cut[i] - full[i])) }
        XCTAssertLessThan(worst, 1e-5)
        XCTAssertGreaterThan(abs(cut[0] - cut[8]), 1e-3, "different prompts must give different features")
    }

    /// Random prefix `[G, P, W]` and suffixes `[G·K, S, W]`; loss = Σ features ⊙ r.
    private struct Problem {
        let G = 2, K = 3, P = 4, S = 3, W = 16, D = 8
        let prefix: Tensor, suffix: Tensor, r: Tensor
        let eots = [1, 2, 0, 2, 1, 1]
        init(rng: RandomWeights) {
            prefix = Tensor(shape: [G, P, W]); suffix = Tensor(shape: [G * K, S, W]); r = Tensor(shape: [G * K, D])
            for t in [prefix, suffix, r] { for i in 0..<t.count { t[i] = rng.uniform() } }
        }

        /// Whole prompts [G·K, P+S, W] for the plain path.
        func full() -> Tensor {
            let t = Tensor(shape: [G * K, P + S, W])
            for n in 0..<G * K {
                (t.data + n * (P + S) * W).update(from: prefix.data + (n / K) * P * W, count: P * W)
                (t.data + (n * (P + S) + P) * W).update(from: suffix.data + n * S * W, count: S * W)
            }
            return t
        }
    }

    func testSharedPrefixEqualsPlainPath() throws {
        let model = try RandomWeights.tinyText(seed: 2)
        let pr = Problem(rng: RandomWeights(seed: 3))
        let N = pr.G * pr.K, W = pr.W
        // plain path
        let full = pr.full()
        let plain = SuffixPass(encoder: model, embeddings: full.data, count: N, length: pr.P + pr.S,
                               eots: pr.eots.map { $0 + pr.P }, keepActivations: true)
        let dFull = plain.backward(dFeatures: pr.r.data)
        // shared prefix: the prompts' pass, one chunk of every suffix
        let chunk = PromptPass.Chunk(embeddings: pr.suffix, eots: pr.eots, firstGroup: 0, groupSize: pr.K, rows: Array(0..<N))
        let shared = PromptPass(encoder: model, prefix: pr.prefix, chunks: [chunk], rows: N, keepActivations: true,
                                buffers: PromptPass.Buffers())
        let (dPrefix, dSuffixes) = shared.backward(dFeatures: [pr.r])[0]
        let dSuffix = dSuffixes[0]

        var worst: Float = 0
        for i in 0..<plain.features.count { worst = max(worst, abs(plain.features[i] - shared.features[i])) }
        XCTAssertLessThan(worst, 1e-5, "features")
        worst = 0
        var scale: Float = 0
        for n in 0..<N {
            for t in 0..<pr.S { for c in 0..<W {
                let a = dFull[(n * (pr.P + pr.S) + pr.P + t) * W + c], b = dSuffix[(n * pr.S + t) * W + c]
                worst = max(worst, abs(a - b)); scale = max(scale, abs(a))
            } }
        }
        for g in 0..<pr.G {
            for t in 0..<pr.P { for c in 0..<W {
                var summed: Float = 0
                for k in 0..<pr.K { summed += dFull[((g * pr.K + k) * (pr.P + pr.S) + t) * W + c] }
                worst = max(worst, abs(summed - dPrefix[(g * pr.P + t) * W + c])); scale = max(scale, abs(summed))
            } }
        }
        XCTAssertGreaterThan(scale, 1e-3)
        XCTAssertLessThan(worst / scale, 1e-5, "gradients")
    }

    func testPlainPathGradientMatchesFiniteDifferences() throws {
        let model = try RandomWeights.tinyText(seed: 4)
        let pr = Problem(rng: RandomWeights(seed: 5))
        let N = pr.G * pr.K, T = pr.P + pr.S
        let full = pr.full()
        let eots = pr.eots.map { $0 + pr.P }
        func loss() -> Double {
            let pass = SuffixPass(encoder: model, embeddings: full.data, count: N, length: T, eots: eots, keepActivations: false)
            var s = 0.0
            for i in 0..<pass.features.count { s += Double(pass.features[i]) * Double(pr.r[i]) }
            return s
        }
        let pass = SuffixPass(encoder: model, embeddings: full.data, count: N, length: T, eots: eots, keepActivations: true)
        let grad = pass.backward(dFeatures: pr.r.data)
        let eps: Float = 1e-2
        var checked = 0
        for i in stride(from: 3, to: full.count, by: 37) {
            let saved = full[i]
            full[i] = saved + eps; let plus = loss()
            full[i] = saved - eps; let minus = loss()
            full[i] = saved
            let numeric = (plus - minus) / Double(2 * eps)
            XCTAssertEqual(Double(grad[i]), numeric, accuracy: 2e-3 + 2e-2 * abs(numeric), "element \(i)")
            checked += 1
        }
        XCTAssertGreaterThan(checked, 10)
    }
}
