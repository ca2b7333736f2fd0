import Foundation
import XCTest
@testable import Kernels

/// cocoon's compute threads (`Parallel.perform` on `CWorkers`): every iteration of every job runs
/// exactly once, however quickly jobs follow one another; nested and concurrent calls run inline;
/// and the work split over them (attention's heads) leaves every bit as one thread computes it.
final class ParallelTests: XCTestCase {
    /// 20,000 jobs back to back (workers still leaving one job while the next starts), of 2 to 9
    /// iterations: each slot counted once per job, none skipped, none run twice.
    func testEveryIterationOfEveryJobRunsExactlyOnce() {
        for iterations in [2, 3, 9] {
            var counts = [Int](repeating: 0, count: iterations)
            let jobs = 20_000 / iterations
            counts.withUnsafeMutableBufferPointer { slots in
                for _ in 0..<jobs {
                    Parallel.perform(iterations) { i in slots[i] += 1 }
                }
            }
            XCTAssertEqual(counts, [Int](repeating: jobs, count: iterations), "\(iterations) iterations per job")
        }
    }

    /// A call from inside an iteration runs its iterations inline on that thread, in order; two
    /// threads calling at once both get every iteration.
    func testNestedAndConcurrentCallsRunInline() {
        var inner = [[Int]](repeating: [], count: 4)
        var sameThread = [Bool](repeating: false, count: 4)
        inner.withUnsafeMutableBufferPointer { inner in
            sameThread.withUnsafeMutableBufferPointer { same in
                Parallel.perform(4) { i in
                    let outer = pthread_self()
                    var order: [Int] = [], stayed = true
                    Parallel.perform(5) { j in
                        order.append(j)
                        stayed = stayed && pthread_equal(pthread_self(), outer) != 0
                    }
                    inner[i] = order
                    same[i] = stayed
                }
            }
        }
        XCTAssertEqual(inner, [[Int]](repeating: [0, 1, 2, 3, 4], count: 4))
        XCTAssertEqual(sameThread, [true, true, true, true])

        nonisolated(unsafe) let sums = UnsafeMutablePointer<Int>.allocate(capacity: 2)   // each thread writes its own slot
        defer { sums.deallocate() }
        sums.initialize(repeating: 0, count: 2)
        let done = DispatchGroup()
        for caller in 0..<2 {
            done.enter()
            Thread.detachNewThread {
                for _ in 0..<2_000 {
                    var parts = [Int](repeating: 0, count: 3)
                    parts.withUnsafeMutableBufferPointer { p in Parallel.perform(3) { i in p[i] = i + 1 } }
                    sums[caller] += parts.reduce(0, +)
                }
                done.leave()
            }
        }
        done.wait()
        XCTAssertEqual([sums[0], sums[1]], [12_000, 12_000])
    }

    /// Attention with per-group prefixes, forward and backward, heads split over 2 threads: the
    /// same bits as one thread (each head's arithmetic is unchanged, only where it runs).
    func testAttentionOnTwoThreadsGivesOneThreadsBits() {
        var rng = SeededRandom(31)
        let (B, T, P, W, H, G) = (12, 9, 5, 64, 8, 3)
        let shape = Attention.Shape(batch: B, length: T, prefix: P, width: W, heads: H, causal: true, groupSize: B / G)
        let qkv = rng.array(B * T * 3 * W).map { Float($0) }, prefix = rng.array(G * P * 3 * W).map { Float($0) }
        let dout = rng.array(B * T * W).map { Float($0) }
        XCTAssertGreaterThanOrEqual(H * B * T * shape.keys * shape.headDim, Parallel.minimumWork, "big enough to split")
        func run(threads: Int) -> [UInt32] {
            withThreads(threads) {
                var out = [Float](repeating: 0, count: B * T * W), probs = [Float](repeating: 0, count: shape.probabilityCount)
                var dqkv = [Float](repeating: 0, count: B * T * 3 * W), dPrefix = [Float](repeating: 0, count: G * P * 3 * W)
                Attention.forward(out: &out, probs: &probs, qkv: qkv, prefixQKV: prefix, shape: shape)
                Attention.backward(dqkv: &dqkv, dPrefixQKV: &dPrefix, dout: dout, qkv: qkv, prefixQKV: prefix, probs: probs,
                                   shape: shape)
                return (out + probs + dqkv + dPrefix).map(\.bitPattern)
            }
        }
        let one = run(threads: 1)
        XCTAssertFalse(one.allSatisfy { $0 == 0 })
        XCTAssertEqual(run(threads: 2), one)
    }
}
