/// A contiguous, row-major Float32 array with a shape; owns 64-byte-aligned memory.
/// Every layer, model weight and activation in cocoon is a `Tensor`. It is a class so that
/// passing one around never copies; hot loops work on `data` (an unsafe pointer) directly.
public final class Tensor {
    /// Dimensions, outermost first. `reshape` may change it as long as `count` stays.
    public private(set) var shape: [Int]
    /// Number of elements (product of `shape`).
    public let count: Int
    /// The elements, `count` of them.
    public let data: UnsafeMutablePointer<Float>

    /// A tensor of the given shape, zero-filled.
    public convenience init(shape: [Int]) {
        self.init(uninitializedShape: shape)
        data.update(repeating: 0, count: max(count, 1))
    }

    /// A tensor whose elements are not set: for buffers the caller overwrites entirely (activations,
    /// GEMM outputs with beta 0), sparing the memory traffic of zero-filling.
    public init(uninitializedShape shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        self.data = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    /// A tensor holding `values` (row-major) with the given shape.
    public convenience init(shape: [Int], values: [Float]) {
        self.init(shape: shape)
        precondition(values.count == count, "shape \(shape) needs \(count) values, got \(values.count)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    deinit { data.deallocate() }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: data, count: count) }

    public subscript(i: Int) -> Float {
        get { data[i] }
        set { data[i] = newValue }
    }

    /// Gives the same elements a new shape with the same element count.
    public func reshape(_ newShape: [Int]) {
        precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        shape = newShape
    }

    public func toArray() -> [Float] { Array(buffer) }

    /// An independent copy.
    public func copy() -> Tensor {
        let t = Tensor(shape: shape)
        t.data.update(from: data, count: count)
        return t
    }

    public func fill(_ value: Float) { data.update(repeating: value, count: count) }
}
