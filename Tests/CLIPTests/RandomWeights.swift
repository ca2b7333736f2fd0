import Foundation
import Kernels
@testable import CLIP

/// Named random tensors for building tiny models in tests (a `WeightSource` without a file).
final class RandomWeights: WeightSource {
    private var state: UInt64
    private var made: [String: Tensor] = [:]

    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1 }

    /// Uniform in [-1, 1).
    func uniform() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(state >> 40) / Float(1 << 24) * 2 - 1
    }

    func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        if let t = made[name] { return t }
        let t = Tensor(shape: shape)
        let fanIn = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
        let isScale = name.hasSuffix("ln_1.weight") || name.hasSuffix("ln_2.weight") || name.hasSuffix("ln_final.weight")
        let scale: Float = shape.count > 1 ? 1 / Float(fanIn).squareRoot() : 0.1
        for i in 0..<t.count { t[i] = isScale ? 1 + 0.1 * uniform() : scale * uniform() * 1.7 }
        made[name] = t
        return t
    }

    /// A tiny text transformer: width 16, 2 heads, 2 layers, vocabulary 50, context 12, D 8.
    static func tinyText(seed: UInt64) throws -> TextTransformer {
        try TextTransformer(weights: RandomWeights(seed: seed), width: 16, heads: 2, layers: 2,
                            contextLength: 12, vocabularySize: 50, embedDim: 8)
    }
}
