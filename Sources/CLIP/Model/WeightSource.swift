import Kernels

/// Anything that hands out named weight tensors with a checked shape: a loaded checkpoint
/// (`CLIPWeights`) or a test fixture. Model constructors read their weights through it.
public protocol WeightSource {
    /// The tensor called `name` (OpenAI/open_clip naming) converted to Float32; throws a one-line
    /// error naming the key when it is missing or its shape differs from `shape`.
    func tensor(_ name: String, shape: [Int]) throws -> Tensor
}

extension CLIPWeights: WeightSource {}

extension WeightSource {
    /// The tensor a layout of `CLIPTensorLayout.swift` names, checked against its shape.
    func tensor(_ expected: ExpectedTensor) throws -> Tensor { try tensor(expected.name, shape: expected.shape) }
}
