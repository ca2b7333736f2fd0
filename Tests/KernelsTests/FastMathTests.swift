import Foundation
import XCTest
@testable import Kernels

/// `FastExp` against libm in double precision, the reductions against Float64 sums (every tail
/// length), and `Parallel.slices`' partition and BLAS thread handling.
final class FastMathTests: XCTestCase {
    func testFastExpRelativeErrorOverItsRange() {
        var worst = 0.0, x: Float = -80
        while x <= 88 {
            let exact = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(FastExp.exp(x)) - exact) / exact)
            x = x.nextUp.nextUp.nextUp + 0.000_731   // dense near 0, about 230k points overall
        }
        XCTAssertLessThan(worst, 2e-7)
        XCTAssertEqual(FastExp.exp(0), 1)
    }

    func testFastExpEdges() {
        XCTAssertEqual(FastExp.exp(-80.5), 0, "below e^-80 the result is flushed to zero, never subnormal")
        XCTAssertEqual(FastExp.exp(-.infinity), 0)
        XCTAssertEqual(FastExp.exp(-1000), 0)
        XCTAssertTrue(FastExp.exp(-80).isNormal)
        XCTAssertEqual(Double(FastExp.exp(1000)), Foundation.exp(88), accuracy: 1e32, "clamped at e^88")
        XCTAssertTrue(FastExp.exp(.nan).isNaN)
    }

    func testReductionsMatchFloat64ForEveryTailLength() {
        var rng = SeededRandom(21)
        for n in 0...37 {
            let a = rng.array(n, scale: 3), b = rng.array(n, scale: 3)
            let at = tensor(n > 0 ? a : [0], [max(n, 1)]), bt = tensor(n > 0 ? b : [0], [max(n, 1)])
            let af = a.map { Double(Float($0)) }, bf = b.map { Double(Float($0)) }
            XCTAssertEqual(Double(Reduce.sum(at.data, count: n)), af.reduce(0, +), accuracy: 1e-5, "sum n=\(n)")
            XCTAssertEqual(Double(Reduce.dot(at.data, bt.data, count: n)), zip(af, bf).map(*).reduce(0, +), accuracy: 1e-5, "dot n=\(n)")
            let mean = n > 0 ? af.reduce(0, +) / Double(n) : 0
            XCTAssertEqual(Double(Reduce.squaredDeviations(at.data, from: Float(mean), count: n)),
                           af.map { ($0 - mean) * ($0 - mean) }.reduce(0, +), accuracy: 1e-4, "deviations n=\(n)")
            XCTAssertEqual(Double(Reduce.max(at.data, count: n)), af.max() ?? -.infinity, "max n=\(n)")
        }
    }

    func testSlicesPartitionTheBatchWithSingleThreadedBLAS() {
        let before = Threads.current
        for (count, lanes) in [(32, 2), (7, 3), (2, 5), (1, 2), (5, 1)] {
            let seen = UnsafeMutablePointer<Int>.allocate(capacity: count)
            seen.initialize(repeating: 0, count: count)
            defer { seen.deallocate() }
            let sizes = UnsafeMutablePointer<Int>.allocate(capacity: 2 * lanes)   // slice size, BLAS threads
            sizes.initialize(repeating: -1, count: 2 * lanes)
            defer { sizes.deallocate() }
            let used = min(lanes, count)
            Parallel.slices(count, lanes: lanes) { lane, slice in
                sizes[2 * lane] = slice.count
                sizes[2 * lane + 1] = Threads.current
                for i in slice { seen[i] += 1 }
            }
            XCTAssertEqual((0..<used).map { sizes[2 * $0 + 1] }, Array(repeating: 1, count: used), "single-threaded GEMMs in lanes")
            XCTAssertEqual((0..<count).map { seen[$0] }, Array(repeating: 1, count: count), "\(count) over \(lanes)")
            let laneSizes = (0..<used).map { sizes[2 * $0] }
            XCTAssertLessThanOrEqual(laneSizes.max()! - laneSizes.min()!, 1)
            XCTAssertEqual(Threads.current, before, "the thread count is restored")
        }
    }
}
