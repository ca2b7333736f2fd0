import Kernels

/// The batch split of an image encoder: one scratch buffer per lane (`Parallel.slices`), kept
/// between batches, and the slicing of pixels and features. Used by `VisionTransformer` and
/// `ModifiedResNet`; one `encode` at a time per encoder.
final class LaneScratch<Buffer> {
    private var buffers: [Buffer] = []
    private let make: () -> Buffer

    init(_ make: @escaping () -> Buffer) { self.make = make }

    /// Features `[B, D]` of pixels `[B, 3, R, R]`: `encodeSlice(pixels, count, features, buffer)`
    /// runs on equal slices at once: as many as the largest divisor of B not above `lanes`
    /// (default: one per thread), one when `tracing`. Equal slices give every image the same
    /// GEMM shapes whatever its slot, so its features do not depend on its neighbours in the
    /// batch: the indexer relies on that for resumed and merged runs to store the same bits.
    func encode(pixels: UnsafePointer<Float>, batch B: Int, imageSize R: Int, embedDim D: Int, lanes: Int?, tracing: Bool,
                _ encodeSlice: (UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, Buffer) -> Void) -> Tensor {
        let features = Tensor(uninitializedShape: [B, D])   // every slice writes its rows
        let most = tracing ? 1 : max(1, min(lanes ?? Threads.current, B))
        let used = (1...most).last { B % $0 == 0 }!
        while buffers.count < used { buffers.append(make()) }
        let kept = buffers, plane = 3 * R * R
        Parallel.slices(B, lanes: used) { lane, slice in
            encodeSlice(pixels + slice.lowerBound * plane, slice.count, features.data + slice.lowerBound * D, kept[lane])
        }
        return features
    }
}
