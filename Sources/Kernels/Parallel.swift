import CBLAS
import CWorkers

/// Splits work over the configured threads (`Threads.current`) on cocoon's compute threads
/// (`CWorkers`). `perform` is the one way work forks: `ranges` splits elementwise and row-wise
/// loops, the FP32 and BF16 products split rows or panels with it, and `slices` runs independent
/// slices of a batch whole, one thread each, with single-threaded GEMMs. Small loops run inline.
/// Workers spin for 200 µs after a job before sleeping, so the hundreds of parallel passes of a
/// training step never pay a sleeping thread's wake-up (20–60 µs each on a VM; GCD's
/// `concurrentPerform` paid it at every call), and an idle process spins nowhere.
public enum Parallel {
    /// Calls `body(i)` for every i in `0..<iterations` on the caller and `iterations − 1` compute
    /// threads, returning when all have returned; nested or concurrent calls run inline.
    public static func perform(_ iterations: Int, _ body: (Int) -> Void) {
        guard iterations > 1 else {
            if iterations == 1 { body(0) }
            return
        }
        withoutActuallyEscaping(body) { body in
            var job = body
            withUnsafeMutablePointer(to: &job) { context in
                cw_run(Int32(iterations), { context, index in
                    context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(index))
                }, context)
            }
        }
    }

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
        perform(threads) { t in
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
        perform(lanes) { lane in
            let start = lane * per + min(lane, extra)
            body(lane, start..<start + per + (lane < extra ? 1 : 0))
        }
    }
}
