import Formats
import Foundation
import TestSupport
import XCTest

final class NPYWriterTests: XCTestCase {
    /// Headers byte-identical to numpy 2.4 `np.save` (captured from Python).
    func testHeadersMatchNumpy() {
        func expected(_ dict: String) -> [UInt8] {
            var text = Array(dict.utf8)
            while (10 + text.count + 1) % 64 != 0 { text.append(0x20) }
            text.append(0x0a)
            return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(text.count & 0xff), UInt8(text.count >> 8)] + text
        }
        // np.save(np.zeros((3,4), np.float32)): header length 0x76 = 118.
        let f4 = NPYWriter.header(descr: "<f4", shape: [3, 4])
        XCTAssertEqual(f4.count, 128)
        XCTAssertEqual(Array(f4[0..<10]), [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00])
        XCTAssertEqual(f4, expected("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }" + String(repeating: " ", count: 20)))
        XCTAssertEqual(NPYWriter.header(descr: "<i8", shape: [5]),
                       expected("{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }" + String(repeating: " ", count: 20)))
        XCTAssertEqual(NPYWriter.header(descr: "<f4", shape: [0, 512]),
                       expected("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 512), }" + String(repeating: " ", count: 20)))
        XCTAssertEqual(NPYWriter.header(descr: "<f4", shape: [1_000_000, 512]).count % 64, 0)
    }

    func testFileParsesBack() throws {
        let scratch = try Scratch("npy")
        let dir = scratch.url.path
        let values: [Float] = (0..<12).map { Float($0) * 0.5 - 2 }
        try NPYWriter.write(values, shape: [3, 4], to: dir + "/x.npy")
        try NPYWriter.write([7, -1, 1 << 40], shape: [3], to: dir + "/y.npy")
        let x = try Data(contentsOf: URL(fileURLWithPath: dir + "/x.npy"))
        XCTAssertEqual(x.count, 128 + 48)
        let headerLength = Int(x[8]) | Int(x[9]) << 8
        XCTAssertEqual(10 + headerLength, 128)
        XCTAssertTrue(String(decoding: x[10..<128], as: UTF8.self).hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }"))
        let back = x[128...].withUnsafeBytes { p in (0..<12).map { Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) } }
        XCTAssertEqual(back, values)
        let y = try Data(contentsOf: URL(fileURLWithPath: dir + "/y.npy"))
        XCTAssertEqual(y.count, 128 + 24)
        let ints = y[128...].withUnsafeBytes { p in (0..<3).map { Int64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) } }
        XCTAssertEqual(ints, [7, -1, 1 << 40])
        assertOneLineError("shape [2, 2] needs 4 values, got 12") { try NPYWriter.write(values, shape: [2, 2], to: dir + "/z.npy") }
    }
}
