import Kernels

/// CoCoOp's Meta-Net: `Linear(D → D/16) → ReLU → Linear(D/16 → W)` applied to the L2-normalised
/// image feature; its output is added to every context token of that image's prompts. Trainable:
/// forward keeps what backward needs, backward returns the weight gradients.
public final class MetaNet {
    public let inputDim: Int, hiddenDim: Int, outputDim: Int
    public let weight1: Tensor, bias1: Tensor   // [h, D], [h]
    public let weight2: Tensor, bias2: Tensor   // [W, h], [W]

    /// PyTorch's default Linear init: U(−1/√fan_in, 1/√fan_in) for weights and biases.
    public init(inputDim: Int, outputDim: Int, random: inout TrainingRandom) {
        self.inputDim = inputDim; self.hiddenDim = max(inputDim / 16, 1); self.outputDim = outputDim
        weight1 = Tensor(shape: [hiddenDim, inputDim]); bias1 = Tensor(shape: [hiddenDim])
        weight2 = Tensor(shape: [outputDim, hiddenDim]); bias2 = Tensor(shape: [outputDim])
        for (t, fanIn) in [(weight1, inputDim), (bias1, inputDim), (weight2, hiddenDim), (bias2, hiddenDim)] {
            let bound = 1 / Double(fanIn).squareRoot()
            for i in 0..<t.count { t[i] = Float((random.uniform() * 2 - 1) * bound) }
        }
    }

    /// All trainable tensors, in checkpoint order.
    public var parameters: [(name: String, tensor: Tensor)] {
        [("meta_net.linear1.weight", weight1), ("meta_net.linear1.bias", bias1),
         ("meta_net.linear2.weight", weight2), ("meta_net.linear2.bias", bias2)]
    }

    /// Activations of one forward pass.
    public struct Activations {
        public let input: Tensor      // [B, D]
        public let hidden: Tensor     // [B, h] before ReLU
        public let output: Tensor     // [B, W]
    }

    public func forward(_ input: Tensor) -> Activations {
        let B = input.shape[0]
        let hidden = Tensor(shape: [B, hiddenDim]), activated = Tensor(shape: [B, hiddenDim]), out = Tensor(shape: [B, outputDim])
        Linear.forward(hidden.data, input.data, weight: weight1.data, bias: bias1.data, rows: B, inFeatures: inputDim, outFeatures: hiddenDim)
        ReLU.forward(activated.data, hidden.data, count: hidden.count)
        Linear.forward(out.data, activated.data, weight: weight2.data, bias: bias2.data, rows: B, inFeatures: hiddenDim, outFeatures: outputDim)
        return Activations(input: input, hidden: hidden, output: out)
    }

    /// Gradients of the four parameters (checkpoint order) from dL/d(output) `[B, W]`.
    public func backward(_ a: Activations, dOutput: Tensor) -> [Tensor] {
        let B = a.input.shape[0]
        let dW1 = Tensor(shape: weight1.shape), dB1 = Tensor(shape: bias1.shape)
        let dW2 = Tensor(shape: weight2.shape), dB2 = Tensor(shape: bias2.shape)
        let activated = Tensor(shape: [B, hiddenDim]), dHidden = Tensor(shape: [B, hiddenDim])
        ReLU.forward(activated.data, a.hidden.data, count: activated.count)
        Linear.backwardParameters(dWeight: dW2.data, dBias: dB2.data, dOutput.data, activated.data,
                                  rows: B, inFeatures: hiddenDim, outFeatures: outputDim)
        Linear.backwardInput(dHidden.data, dOutput.data, weight: weight2.data, rows: B, inFeatures: hiddenDim, outFeatures: outputDim)
        ReLU.backward(dHidden.data, dHidden.data, a.hidden.data, count: dHidden.count)
        Linear.backwardParameters(dWeight: dW1.data, dBias: dB1.data, dHidden.data, a.input.data,
                                  rows: B, inFeatures: inputDim, outFeatures: hiddenDim)
        return [dW1, dB1, dW2, dB2]
    }
}
