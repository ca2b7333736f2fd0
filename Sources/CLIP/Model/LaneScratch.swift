import Kernels

/// The batch split of an image encoder: one scratch buffer per lane (`Parallel.slices`), kept
/// between batches, and the slicing of pixels and features. Used by `VisionTransformer` and
/// `ModifiedResNet`; one `encode` at a time per encoder.
final class LaneScratch<Buffer> {
    private var buffers: [Buffer] = []
    private let make: () -> Buffer

    init(_ make: @escaping () -> Buffer) { self.make = make }

    /// Features `[B, D]` of pixels `[B, 3, R, R]`: `encodeSlice(pixels, count, features, buffer)`
    /// runs on `lanes` slices at once (default: one per thread; one when `tracing`). Every
    /// product that spans several images runs in a kernel that computes each row (or, in the
    /// ResNet's convolutions, each column) alone (`FP32GEMM`, `BF16GEMM`), so an image's
    /// features do not depend on its slot, the
    /// batch size or the lane count: the indexer relies on that for resumed, sharded and merged
    /// runs to store the same bits.
    func encode(pixels: UnsafePointer<Float>, batch B: Int, imageSize R: Int, embedDim D: Int, lanes: Int?, tracing: Bool,
                _ encodeSlice: (UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, Buffer) -> Void) -> Tensor {
        let features = Tensor(uninitializedShape: [B, D])   // every slice writes its rows
        let used = tracing ? 1 : max(1, min(lanes ?? Threads.current, B))
        while buffers.count < used { buffers.append(make()) }
        let kept = buffers, plane = 3 * R * R
        Parallel.slices(B, lanes: used) { lane, slice in
            encodeSlice(pixels + slice.lowerBound * plane, slice.count, features.data + slice.lowerBound * D, kept[lane])
        }
        return features
    }
}
