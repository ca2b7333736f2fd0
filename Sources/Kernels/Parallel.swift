import CBLAS
import Dispatch

/// Splits work over the configured threads (`Threads.current`). `ranges` splits elementwise and
/// row-wise loops between GEMMs (which already use every core); `slices` runs independent slices
/// of a batch whole, one thread each, with single-threaded GEMMs. Small loops run inline.
public enum Parallel {
    /// Below this many elements of work a loop is not split.
    public static let minimumWork = 1 << 15

    /// Calls `body(range)` on disjoint ranges covering `0..<count`; `work` is the total cost in
    /// elements (default `count`) used to decide whether splitting pays.
    @inline(__always)
    public static func ranges(_ count: Int, work: Int? = nil, _ body: (Range<Int>) -> Void) {
        let threads = min(Threads.current, count)
        guard threads > 1, (work ?? count) >= minimumWork else {
            body(0..<count)
            return
        }
        let per = (count + threads - 1) / threads
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let start = t * per
            if start < count { body(start..<min(count, start + per)) }
        }
    }

    /// Calls `body(lane, slice)` for `lanes` contiguous slices covering `0..<count` (sizes differ
    /// by at most one), all at once, one thread per lane, with OpenBLAS single-threaded until they
    /// return. Batched inference (the image encoders) runs this way: a lane never waits for
    /// another between layers, whereas one multi-threaded GEMM per layer synchronises the BLAS
    /// threads at every call and leaves them spinning through the serial steps in between.
    /// Nothing else may call BLAS meanwhile; `body` sees `Threads.current == 1`, with one lane
    /// too, so the lanes run their products inline and never wait for each other.
    public static func slices(_ count: Int, lanes requested: Int, _ body: (Int, Range<Int>) -> Void) {
        let lanes = max(1, min(requested, count))
        let (threads, blasThreads) = (Threads.current, openblas_get_num_threads())
        Threads.current = 1
        openblas_set_num_threads(1)
        defer { Threads.current = threads; openblas_set_num_threads(blasThreads) }
        guard lanes > 1 else {
            body(0, 0..<count)
            return
        }
        let per = count / lanes, extra = count % lanes
        DispatchQueue.concurrentPerform(iterations: lanes) { lane in
            let start = lane * per + min(lane, extra)
            body(lane, start..<start + per + (lane < extra ? 1 : 0))
        }
    }
}
