/// Stochastic gradient descent with momentum and coupled L2 weight decay, exactly as
/// `torch.optim.SGD(lr, momentum, weight_decay, dampening=0, nesterov=False)`; one per parameter
/// tensor. Its momentum buffer is part of a resumable checkpoint.
public final class SGD {
    public let count: Int
    public private(set) var momentumBuffer: [Float]
    public private(set) var hasMomentum = false
    let momentum: Float
    let weightDecay: Float

    public init(count: Int, momentum: Double, weightDecay: Double) {
        self.count = count
        self.momentum = Float(momentum)
        self.weightDecay = Float(weightDecay)
        momentumBuffer = [Float](repeating: 0, count: count)
    }

    /// Restores a saved momentum buffer (resume).
    public func restore(buffer: [Float]) {
        precondition(buffer.count == count)
        momentumBuffer = buffer
        hasMomentum = true
    }

    /// g ← grad + wd·p;  buf ← g (first step) or momentum·buf + g;  p ← p − lr·buf.
    public func step(parameters p: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>, learningRate: Double) {
        let lr = Float(learningRate), wd = weightDecay, mu = momentum, first = !hasMomentum
        momentumBuffer.withUnsafeMutableBufferPointer { buf in
            for i in 0..<count {
                let d = g[i] + wd * p[i]
                buf[i] = first ? d : mu * buf[i] + d
                p[i] -= lr * buf[i]
            }
        }
        hasMomentum = true
    }
}
