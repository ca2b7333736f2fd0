import Dispatch

/// Splits elementwise and row-wise loops over the configured threads (`Threads.current`): the
/// GEMMs already use every core, and single-threaded activation/normalisation passes between
/// them would otherwise leave the other cores idle. Small loops run inline.
public enum Parallel {
    /// Below this many elements of work a loop is not split.
    public static var minimumWork = 1 << 15

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
}
