import Kernels

/// Deterministic pseudo-random weights of CLIP-like scale for any requested name and shape:
/// lets `cocoon bench` run real-size towers without a checkpoint (no weights can be downloaded).
public final class SyntheticWeights: WeightSource {
    private var state: UInt64

    public init(seed: UInt64 = 0x5EED) { state = seed }

    public func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        let t = Tensor(shape: shape)
        let isNormScale = name.hasSuffix("ln_1.weight") || name.hasSuffix("ln_2.weight") || name.hasSuffix("ln_final.weight")
            || name.hasSuffix("ln_pre.weight") || name.hasSuffix("ln_post.weight") || name.hasSuffix("running_var")
            || (name.contains("bn") && name.hasSuffix(".weight")) || (name.hasSuffix("downsample.1.weight"))
        let fanIn = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
        let scale: Float = shape.count > 1 ? 1 / Float(fanIn).squareRoot() : 0.02
        for i in 0..<t.count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let u = Float(state >> 40) / Float(1 << 24) * 2 - 1            // [-1, 1)
            t[i] = isNormScale ? 1 + 0.1 * u : scale * 1.7 * u
        }
        return t
    }
}
