import XCTest
@testable import Datasets

/// CPythonRandom against sequences produced by CPython (Tests/Fixtures/datasets/cpython_random.json).
final class CPythonRandomTests: XCTestCase {
    func testMatchesCPython() throws {
        let cases = try XCTUnwrap(Fixtures.json("cpython_random.json")["cases"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 9)
        var sampleCalls = 0, setBranch = 0
        for entry in cases {
            let seed = try XCTUnwrap(entry["seed"] as? Int)

            var r = CPythonRandom(seed: seed)
            // The fixture stores random() * 2^53, an exact integer (JSON doubles may lose the last ulp).
            for expected in try XCTUnwrap(entry["random"] as? [Int]) {
                XCTAssertEqual(r.random() * 9_007_199_254_740_992.0, Double(expected), "seed \(seed) random()")
            }

            r = CPythonRandom(seed: seed)
            for expected in try XCTUnwrap(entry["getrandbits32"] as? [Int]) {
                XCTAssertEqual(r.getrandbits(32), UInt64(expected), "seed \(seed) getrandbits(32)")
            }

            r = CPythonRandom(seed: seed)
            for pair in try XCTUnwrap(entry["getrandbits"] as? [[Any]]) {
                let k = try XCTUnwrap(pair[0] as? Int)
                XCTAssertEqual(r.getrandbits(k), UInt64(try XCTUnwrap(pair[1] as? String)), "seed \(seed) getrandbits(\(k))")
            }

            r = CPythonRandom(seed: seed)   // one state across all calls: later draws depend on earlier ones
            for call in try XCTUnwrap(entry["samples"] as? [[Any]]) {
                let n = try XCTUnwrap(call[0] as? Int), k = try XCTUnwrap(call[1] as? Int)
                let expected = try XCTUnwrap(call[2] as? [Int])
                XCTAssertEqual(r.sampleIndices(n, k), expected, "seed \(seed) sample(range(\(n)), \(k))")
                sampleCalls += 1
                let setsize = 21 + (k > 5 ? 1 << (2 * Int((log(Double(3 * k)) / log(4.0)).rounded(.up))) : 0)
                if n > setsize { setBranch += 1 }
            }

            r = CPythonRandom(seed: seed)
            for expected in try XCTUnwrap(entry["shuffles"] as? [[Int]]) {
                var x = Array(0..<expected.count)
                r.shuffle(&x)
                XCTAssertEqual(x, expected, "seed \(seed) shuffle")
            }
        }
        XCTAssertEqual(sampleCalls, 9 * 13)
        XCTAssertEqual(setBranch, 9 * 6, "the fixture exercises both sample branches")
    }

    func testKnownFirstDraws() {
        // random.seed(0); random.random() == 0.8444218515250481 (CPython documentation example value).
        var r = CPythonRandom(seed: 0)
        XCTAssertEqual(r.random(), 0.8444218515250481)
        // Seeds are taken by absolute value, like CPython.
        var a = CPythonRandom(seed: -7), b = CPythonRandom(seed: 7)
        XCTAssertEqual((0..<5).map { _ in a.nextUInt32() }, (0..<5).map { _ in b.nextUInt32() })
    }
}
