import Foundation
import XCTest
@testable import Imaging

/// PNG and JPEG writers round trip through the decoder.
final class ImageFileEncoderTests: XCTestCase {
    func testWriteThenDecodeRoundTrips() throws {
        var pixels = [UInt8](repeating: 0, count: 53 * 31 * 3)
        for i in pixels.indices { pixels[i] = UInt8(truncatingIfNeeded: i &* 37 &+ (i >> 5)) }
        let image = RGBImage(width: 53, height: 31, pixels: pixels)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cocoon-imaging-roundtrip-\(UUID()).png")
        defer { try? FileManager.default.removeItem(at: url) }
        try ImageFileEncoder.write(image, to: url)
        let bytes = try Data(contentsOf: url)
        XCTAssertEqual(Array(bytes.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        XCTAssertEqual(Array(bytes[16..<26]), [0, 0, 0, 53, 0, 0, 0, 31, 8, 2])  // IHDR: size, 8-bit RGB
        XCTAssertEqual(try ImageDecoder.decode(file: url), image)

        let fixture = try ImagingFixtures.decode("baseline_q90_300x199.jpg")
        XCTAssertEqual(try ImageDecoder.decode(data: ImageFileEncoder.encode(fixture)), fixture)
    }

    func testJPEGRoundTripsWithinTheQualityLoss() throws {
        let w = 61, h = 37
        var pixels = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                let o = (y * w + x) * 3
                pixels[o] = UInt8(x * 4); pixels[o + 1] = UInt8(y * 6); pixels[o + 2] = UInt8((x + y) * 2)
            }
        }
        let image = RGBImage(width: w, height: h, pixels: pixels)
        let high = try ImageFileEncoder.encode(image, as: .jpeg(quality: 95))
        let low = try ImageFileEncoder.encode(image, as: .jpeg(quality: 40))
        XCTAssertEqual(Array(high.prefix(3)), [0xFF, 0xD8, 0xFF])
        XCTAssertLessThan(low.count, high.count)
        for (data, bound) in [(high, 1.5), (low, 4.0)] {
            let decoded = try ImageDecoder.decode(data: data)
            XCTAssertEqual([decoded.width, decoded.height], [w, h])
            let error = zip(decoded.pixels, pixels).map { abs(Double($0) - Double($1)) }.reduce(0, +) / Double(pixels.count)
            XCTAssertGreaterThan(error, 0, "JPEG is lossy")
            XCTAssertLessThan(error, bound, "mean |Δ| per channel")
        }
        XCTAssertThrowsError(try ImageFileEncoder.encode(image, as: .jpeg(quality: 0))) { error in
            XCTAssertEqual("\(error)", "<memory>: JPEG quality 0 is outside 1...100")
        }
    }

    func testUnwritableDestinationThrowsNamingTheFile() {
        let image = RGBImage(width: 1, height: 1, pixels: [1, 2, 3])
        let url = URL(fileURLWithPath: "/nonexistent-cocoon-dir/out.png")
        XCTAssertThrowsError(try ImageFileEncoder.write(image, to: url)) { error in
            XCTAssertTrue("\(error)".hasPrefix("/nonexistent-cocoon-dir/out.png: cannot write"), "\(error)")
        }
    }
}
