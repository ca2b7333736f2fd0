import Kernels

#if canImport(Glibc)
import Glibc
#endif

/// The optimiser of one parameter tensor as `Trainer` drives it: one step from the gradient at a
/// given learning rate. `SGD` (CoOp, CoCoOp, CLIP-Adapter) and `Adam` (TaskRes; AdamW for
/// Tip-Adapter-F) conform; a learner picks its own with `PromptLearner.makeOptimizer`.
public protocol ParameterOptimizer: AnyObject {
    /// Elements of the parameter tensor.
    var count: Int { get }
    func step(parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, learningRate: Double)
    /// The resumable state as checkpoint tensors named from `prefix` (`optimizer.<parameter>`),
    /// shaped like the parameter (`shape`) where they are per element.
    func state(prefix: String, shape: [Int]) -> [(name: String, tensor: Tensor)]
    /// Restores what `state` wrote (a fresh optimiser when nothing was written).
    func restore(prefix: String, from tensor: (String) -> Tensor?) throws
}

extension SGD: ParameterOptimizer {
    /// The momentum buffer as `prefix` (nothing before the first step).
    public func state(prefix: String, shape: [Int]) -> [(name: String, tensor: Tensor)] {
        hasMomentum ? [(prefix, Tensor(shape: shape, values: momentumBuffer))] : []
    }

    public func restore(prefix: String, from tensor: (String) -> Tensor?) throws {
        guard let buffer = tensor(prefix) else { return }
        guard buffer.count == count else { throw PromptError.invalid("checkpoint tensor \(prefix) has \(buffer.count) values, the parameter \(count)") }
        restore(buffer: buffer.toArray())
    }
}

/// Adam exactly as `torch.optim.Adam` / `torch.optim.AdamW` (single-tensor path, `amsgrad=False`,
/// `maximize=False`); one per parameter tensor. Coupled weight decay is Adam's L2 term added to the
/// gradient (Dassl's "adam": TaskRes); decoupled is AdamW's `p ← p·(1 − lr·wd)` before the update
/// (Tip-Adapter-F). Its moments and step count are the resumable state.
public final class Adam: ParameterOptimizer {
    /// Where the weight decay enters.
    public enum WeightDecay: String, Codable {
        /// `torch.optim.Adam(weight_decay=)`: g ← g + wd·p.
        case coupled
        /// `torch.optim.AdamW(weight_decay=)`: p ← p·(1 − lr·wd) before the Adam update.
        case decoupled
    }

    public let count: Int
    public let beta1: Double, beta2: Double, epsilon: Double, weightDecay: Double
    public let decay: WeightDecay
    /// m (`exp_avg`) and v (`exp_avg_sq`), `count` each.
    public private(set) var firstMoment: [Float]
    public private(set) var secondMoment: [Float]
    /// Steps taken (torch's `state["step"]`).
    public private(set) var steps = 0

    public init(count: Int, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
                weightDecay: Double, decay: WeightDecay) {
        self.count = count
        self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
        self.weightDecay = weightDecay; self.decay = decay
        firstMoment = [Float](repeating: 0, count: count)
        secondMoment = [Float](repeating: 0, count: count)
    }

    /// Dassl's "adam" (`build_optimizer`): betas (0.9, 0.999), eps 1e-8, coupled L2 weight decay
    /// (`OPTIM.WEIGHT_DECAY`, 5e-4 by default). TaskRes trains with it.
    public static func dassl(count: Int, weightDecay: Double = 5e-4) -> Adam {
        Adam(count: count, weightDecay: weightDecay, decay: .coupled)
    }

    /// `torch.optim.AdamW` with PyTorch's defaults (betas 0.9/0.999, weight decay 0.01) and the
    /// given eps (Tip-Adapter-F passes 1e-4).
    public static func adamW(count: Int, epsilon: Double = 1e-8, weightDecay: Double = 0.01) -> Adam {
        Adam(count: count, epsilon: epsilon, weightDecay: weightDecay, decay: .decoupled)
    }

    /// Restores saved moments and step count (resume).
    public func restore(firstMoment m: [Float], secondMoment v: [Float], steps: Int) {
        precondition(m.count == count && v.count == count && steps >= 0)
        firstMoment = m; secondMoment = v; self.steps = steps
    }

    /// m, v and the step count as `prefix.exp_avg`, `prefix.exp_avg_sq`, `prefix.step` (torch's names).
    public func state(prefix: String, shape: [Int]) -> [(name: String, tensor: Tensor)] {
        [("\(prefix).exp_avg", Tensor(shape: shape, values: firstMoment)), ("\(prefix).exp_avg_sq", Tensor(shape: shape, values: secondMoment)),
         ("\(prefix).step", Tensor(shape: [1], values: [Float(steps)]))]
    }

    public func restore(prefix: String, from tensor: (String) -> Tensor?) throws {
        guard let m = tensor("\(prefix).exp_avg"), let v = tensor("\(prefix).exp_avg_sq"), let t = tensor("\(prefix).step") else { return }
        guard m.count == count, v.count == count, t.count == 1, t[0] >= 0, t[0] < 16_777_216 else {
            throw PromptError.invalid("checkpoint tensors \(prefix).* do not fit an Adam state of \(count) values")
        }
        restore(firstMoment: m.toArray(), secondMoment: v.toArray(), steps: Int(t[0]))
    }

    /// One `torch.optim.Adam(W).step()`, in torch's operation order:
    /// AdamW `p ← p·(1 − lr·wd)` | Adam `g ← g + wd·p`;  `m ← lerp(m, g, 1 − β1)`;
    /// `v ← v·β2 + (1 − β2)·g·g`;  `p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + eps)`.
    /// Scalars are formed in Double as Python does and rounded to Float where torch rounds them.
    public func step(parameters p: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>, learningRate lr: Double) {
        steps += 1
        let t = Double(steps)
        let keep = Float(1 - lr * weightDecay), wd = Float(weightDecay)
        let w1 = Float(1 - beta1), b2 = Float(beta2), w2 = Float(1 - beta2)
        let stepSize = lr / (1 - pow(beta1, t))
        let correction2 = Float((1 - pow(beta2, t)).squareRoot())
        let negativeStep = Float(-stepSize), eps = Float(epsilon)
        let decoupled = decay == .decoupled && weightDecay != 0, coupled = decay == .coupled && weightDecay != 0
        firstMoment.withUnsafeMutableBufferPointer { m in
            secondMoment.withUnsafeMutableBufferPointer { v in
                for i in 0..<count {
                    if decoupled { p[i] *= keep }
                    let gi = coupled ? g[i] + wd * p[i] : g[i]
                    m[i] = m[i].addingProduct(w1, gi - m[i])      // torch's vectorised lerp: fma(w, g − m, m)
                    v[i] = v[i] * b2 + w2 * gi * gi
                    let denominator = v[i].squareRoot() / correction2 + eps
                    p[i] += negativeStep * m[i] / denominator
                }
            }
        }
    }
}
