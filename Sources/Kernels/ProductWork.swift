import Synchronization

/// Floating-point operations (2 per multiply-add) the products on frozen weights (`FP32GEMM`,
/// `BF16GEMM`) have run in this process: `cocoon bench tune` reads it around a step to quote the
/// step's FLOP count and its fraction of the machine's sgemm peak. One relaxed atomic add per call.
public enum ProductWork {
    private static let total = Atomic<Int>(0)

    /// Operations counted so far.
    public static var flops: Int { total.load(ordering: .relaxed) }

    static func add(rows m: Int, k: Int, n: Int) { total.wrappingAdd(2 * m * k * n, ordering: .relaxed) }
}
