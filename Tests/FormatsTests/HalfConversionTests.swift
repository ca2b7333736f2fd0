import Formats
import XCTest

final class HalfConversionTests: XCTestCase {
    /// The integer encoder agrees with Swift's Float16 (IEEE round-to-nearest-even) on a
    /// strided sweep of all 2^32 float bit patterns plus the boundary cases; decoding agrees on
    /// all 65,536 half bit patterns.
    func testHalfBitsMatchFloat16() {
        var mismatches = 0, checked = 0
        var bits: UInt32 = 0
        repeat {
            let f = Float(bitPattern: bits)
            let expected = Float16(f)
            let got = HalfPrecision.f16Bits(f)
            if expected.isNaN ? !(Float16(bitPattern: got).isNaN) : got != expected.bitPattern { mismatches += 1 }
            checked += 1
            bits = bits &+ 65_537
        } while bits >= 65_537
        XCTAssertEqual(mismatches, 0)
        XCTAssertEqual(checked, 65_536)
        let cases: [Float] = [0, -0, 1, -1, 65504, 65519.99, 65520, -65520, 65536, .infinity, -.infinity,
                              6.1035156e-05, 6.1035156e-05 * 0.5, 5.9604645e-08, 2.9802322e-08, 2.9802326e-08,
                              1.0009766, 1.0004883, 1.0014648, 0.33333334, -2.71828]
        for f in cases { XCTAssertEqual(HalfPrecision.f16Bits(f), Float16(f).bitPattern, "\(f)") }
        XCTAssertEqual(HalfPrecision.f16Bits(.nan) & 0x7e00, 0x7e00)
        // Decoding: all 65,536 bit patterns (NaNs stay NaN with the same sign).
        var decodeMismatches = 0
        for h in 0...UInt16.max {
            let expected = Float(Float16(bitPattern: h))
            let got = HalfPrecision.float(f16Bits: h)
            if expected.isNaN ? !(got.isNaN && got.sign == expected.sign) : got.bitPattern != expected.bitPattern { decodeMismatches += 1 }
        }
        XCTAssertEqual(decodeMismatches, 0)
    }
}
