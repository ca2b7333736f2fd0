import XCTest
@testable import Imaging

/// Resize / crop / normalise parity with torchvision's PIL path (Pillow 13 bicubic).
final class PreprocessTests: XCTestCase {
    func testDirectResizesMatchPillowBytes() throws {
        let fixtures = try ImagingFixtures.load()
        XCTAssertEqual(fixtures.resizes.count, 10)
        // Cases where Pillow 13's vertical-first order changes the bytes.
        XCTAssertEqual(fixtures.resizes.filter { $0.vertical_first && $0.sha256 != $0.sha256_horizontal_first }.count, 3)
        for c in fixtures.resizes {
            let image = try ImagingFixtures.decode(c.file)
            let out = Resample.bicubic(image, width: c.width, height: c.height)
            XCTAssertEqual(out.width, c.width)
            XCTAssertEqual(out.height, c.height)
            XCTAssertEqual(sha256Hex(out.pixels), c.sha256, "\(c.file) -> \(c.width)x\(c.height)")
            if c.vertical_first {  // elsewhere both orders are the same code path
                let legacy = Resample.bicubic(image, width: c.width, height: c.height, passOrder: .horizontalFirst)
                XCTAssertEqual(sha256Hex(legacy.pixels), c.sha256_horizontal_first, "legacy \(c.file) -> \(c.width)x\(c.height)")
            }
        }
    }

    func testEvalTransformMatchesTorchvision() throws {
        let fixtures = try ImagingFixtures.load()
        var checked = 0
        for entry in fixtures.images {
            let image = try ImagingFixtures.decode(entry.file)
            for e in entry.eval {
                let what = "\(entry.file) n=\(e.n)"
                let size = Preprocess.shortSideSize(width: image.width, height: image.height, to: e.n)
                XCTAssertEqual(size.width, e.resized_width, what)
                XCTAssertEqual(size.height, e.resized_height, what)
                let resized = Resample.bicubic(image, width: size.width, height: size.height)
                XCTAssertEqual(sha256Hex(resized.pixels), e.resized_sha256, "resized \(what)")
                let origin = Preprocess.centerCropOrigin(width: size.width, height: size.height, size: e.n)
                XCTAssertEqual(origin.x, e.crop_x, what)
                XCTAssertEqual(origin.y, e.crop_y, what)
                let cropped = resized.cropped(x: origin.x, y: origin.y, width: e.n, height: e.n)
                XCTAssertEqual(sha256Hex(cropped.pixels), e.cropped_sha256, "cropped \(what)")
                let tensor = normalized(cropped)
                assertMatches(tensor, e.tensor, what)
                if e.n == 32 {  // the composed transform equals the steps above
                    var composed = [Float](repeating: .nan, count: 3 * e.n * e.n)
                    composed.withUnsafeMutableBufferPointer { Preprocess.clipEval(image, size: e.n, into: $0.baseAddress!) }
                    XCTAssertEqual(composed, tensor, what)
                }
                checked += 1
            }
        }
        XCTAssertEqual(checked, fixtures.images.count + 4)  // n = 32 for all, n = 224 for four
    }

    func testCropThenResizeAndFlipMatchTorchvisionResizedCrop() throws {
        let fixtures = try ImagingFixtures.load()
        XCTAssertEqual(fixtures.crops.count, 4)
        for c in fixtures.crops {
            let image = try ImagingFixtures.decode(c.file)
            let view = Resample.bicubic(image.cropped(x: c.x, y: c.y, width: c.width, height: c.height), width: c.n, height: c.n)
            XCTAssertEqual(sha256Hex(view.pixels), c.sha256, "\(c.file) crop \(c.x),\(c.y) \(c.width)x\(c.height) -> \(c.n)")
            let flipped = view.flippedHorizontally()
            XCTAssertEqual(sha256Hex(flipped.pixels), c.flipped_sha256, "flipped \(c.file)")
            assertMatches(normalized(flipped), c.flipped_tensor, "flipped tensor \(c.file)")
        }
    }

    func testSizeRulesOnKnownCases() {
        // int(224 * 300 / 199) = 337 (truncated, not rounded); equal sides stay equal.
        XCTAssertTrue(Preprocess.shortSideSize(width: 300, height: 199, to: 224) == (337, 224))
        XCTAssertTrue(Preprocess.shortSideSize(width: 199, height: 300, to: 224) == (224, 337))
        XCTAssertTrue(Preprocess.shortSideSize(width: 5, height: 5, to: 224) == (224, 224))
        // round((225 - 224) / 2) = round(0.5) = 0 and round(1.5) = 2 (halves to even).
        XCTAssertTrue(Preprocess.centerCropOrigin(width: 225, height: 227, size: 224) == (0, 2))
    }

    func testFlipMirrorsEveryPixel() throws {
        let image = try ImagingFixtures.decode("rgb_37x23.png")
        let flipped = image.flippedHorizontally()
        for y in 0..<image.height {
            for x in 0..<image.width {
                for c in 0..<3 {
                    XCTAssertEqual(flipped.pixels[(y * 37 + x) * 3 + c], image.pixels[(y * 37 + 36 - x) * 3 + c])
                }
            }
        }
        XCTAssertNotEqual(flipped, image)
        XCTAssertEqual(flipped.flippedHorizontally(), image)
    }

    func testNormalizationUsesFloat32ArithmeticAndCustomConstants() {
        let image = RGBImage(width: 2, height: 1, pixels: [0, 128, 255, 7, 8, 9])
        let out = normalized(image)  // [3, 1, 2]
        XCTAssertEqual(out[0], (Float(0) / 255 - 0.48145466) / 0.26862954)
        XCTAssertEqual(out[1], (Float(7) / 255 - 0.48145466) / 0.26862954)
        XCTAssertEqual(out[5], (Float(9) / 255 - 0.40821073) / 0.27577711)
        XCTAssertEqual(out[0], -1.7922626, accuracy: 1e-6)
        var custom = [Float](repeating: 0, count: 6)
        let half = Normalization(mean: SIMD3(repeating: 0.5), std: SIMD3(repeating: 0.5))
        custom.withUnsafeMutableBufferPointer { Preprocess.normalize(image, normalization: half, into: $0.baseAddress!) }
        // CHW: R = (0, 7), G = (128, 8), B = (255, 9).
        let expected: [Float] = [0, 7, 128, 8, 255, 9].map { ($0 / 255 - 0.5) / 0.5 }
        XCTAssertEqual(custom, expected, accuracy: 1e-6)
        XCTAssertEqual(custom[0], -1)
        XCTAssertEqual(custom[4], 1)
    }

    private func assertMatches(_ tensor: [Float], _ ref: ImagingFixtures.TensorSummary, _ what: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        var sum = 0.0, sumsq = 0.0
        for v in tensor { sum += Double(v); sumsq += Double(v) * Double(v) }
        XCTAssertEqual(sum, ref.sum, accuracy: 1e-6 * max(1, abs(ref.sum)), "sum \(what)", file: file, line: line)
        XCTAssertEqual(sumsq, ref.sumsq, accuracy: 1e-9 * ref.sumsq, "sumsq \(what)", file: file, line: line)
        for (i, v) in zip(ref.sample_index, ref.sample_value) {
            XCTAssertEqual(Double(tensor[i]), v, accuracy: 1e-6, "value [\(i)] \(what)", file: file, line: line)
        }
    }
}

private func XCTAssertEqual(_ a: [Float], _ b: [Float], accuracy: Float, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
