import Foundation
import XCTest
@testable import Imaging

/// PNG writer round trips through the decoder.
final class PNGEncoderTests: XCTestCase {
    func testWriteThenDecodeRoundTrips() throws {
        var pixels = [UInt8](repeating: 0, count: 53 * 31 * 3)
        for i in pixels.indices { pixels[i] = UInt8(truncatingIfNeeded: i &* 37 &+ (i >> 5)) }
        let image = RGBImage(width: 53, height: 31, pixels: pixels)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cocoon-imaging-roundtrip-\(UUID()).png")
        defer { try? FileManager.default.removeItem(at: url) }
        try PNGEncoder.write(image, to: url)
        let bytes = try Data(contentsOf: url)
        XCTAssertEqual(Array(bytes.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        XCTAssertEqual(Array(bytes[16..<26]), [0, 0, 0, 53, 0, 0, 0, 31, 8, 2])  // IHDR: size, 8-bit RGB
        XCTAssertEqual(try ImageDecoder.decode(file: url), image)

        let fixture = try ImagingFixtures.decode("baseline_q90_300x199.jpg")
        XCTAssertEqual(try ImageDecoder.decode(data: PNGEncoder.encode(fixture)), fixture)
    }

    func testUnwritableDestinationThrowsNamingTheFile() {
        let image = RGBImage(width: 1, height: 1, pixels: [1, 2, 3])
        let url = URL(fileURLWithPath: "/nonexistent-cocoon-dir/out.png")
        XCTAssertThrowsError(try PNGEncoder.write(image, to: url)) { error in
            XCTAssertTrue("\(error)".hasPrefix("/nonexistent-cocoon-dir/out.png: cannot write"), "\(error)")
        }
    }
}
