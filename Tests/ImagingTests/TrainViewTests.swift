import XCTest
@testable import Imaging

/// RandomResizedCrop geometry, view seeding and determinism.
final class TrainViewTests: XCTestCase {
    func testRandomGeneratorsKnownAnswers() {
        // xoshiro256** seeded by SplitMix64(0): reference outputs.
        var random = ViewRandom(seed: 0)
        XCTAssertEqual(random.next(), 0x99EC_5F36_CB75_F2B4)
        XCTAssertEqual(random.next(), 0xBF6E_1F78_4956_452A)
        XCTAssertEqual(random.next(), 0x1A5F_849D_4933_E6E0)
        // FNV-1a 64 of (seed LE, view LE, key UTF-8), then SplitMix64's finaliser (computed in Python).
        XCTAssertEqual(ViewSeed.make(seed: 1, itemKey: "oxford_pets/images/Abyssinian_1.jpg", view: 1), 0xAE99_9318_BBD8_33DD)
        XCTAssertEqual(ViewSeed.make(seed: 0, itemKey: "", view: 0), 0x6875_2350_AE1D_483F)
    }

    func testCropGeometryRulesHold() {
        var areaFraction = 0.0, logRatio = 0.0, accepted = 0, landscapeDraws = 0
        for (width, height) in [(500, 375), (64, 250), (37, 23), (224, 224)] {
            let total = Double(width * height)
            for seed in 0..<500 {
                var random = ViewRandom(seed: UInt64(seed))
                let (box, fallback) = RandomResizedCrop.box(width: width, height: height, random: &random)
                XCTAssertTrue(box.x >= 0 && box.y >= 0 && box.width > 0 && box.height > 0, "\(box)")
                XCTAssertTrue(box.x + box.width <= width && box.y + box.height <= height, "\(box) in \(width)x\(height)")
                if width == 500 {
                    areaFraction += Double(box.width * box.height) / total
                    logRatio += log(Double(box.width) / Double(box.height))
                    landscapeDraws += 1
                }
                if fallback { continue }
                accepted += 1
                // w = round(sqrt(A r)), h = round(sqrt(A / r)) with A in [0.08, 1] * total, r in [3/4, 4/3].
                let w = Double(box.width), h = Double(box.height)
                XCTAssertLessThanOrEqual((w - 0.5) * (h - 0.5), total, "\(box)")
                XCTAssertGreaterThanOrEqual((w + 0.5) * (h + 0.5), 0.08 * total, "\(box)")
                XCTAssertGreaterThanOrEqual((w + 0.5) / (h - 0.5), 3.0 / 4.0, "\(box)")
                XCTAssertLessThanOrEqual((w - 0.5) / (h + 0.5), 4.0 / 3.0, "\(box)")
            }
        }
        XCTAssertGreaterThan(accepted, 1900)
        // torchvision's get_params on 500x375 (20,000 torch draws): mean area fraction 0.4348
        // (sd 0.216), mean log(w/h) 0.0315 (wide crops fit a 4:3 image more often). 3-sigma bands.
        XCTAssertEqual(landscapeDraws, 500)
        XCTAssertEqual(areaFraction / 500, 0.4348, accuracy: 0.03)
        XCTAssertEqual(logRatio / 500, 0.0315, accuracy: 0.025)
    }

    func testFallbackIsTheClampedCentreCrop() {
        var random = ViewRandom(seed: 7)
        // Every attempt needs ~95x95 pixels: none fits a 10-pixel-high image.
        let wide = RandomResizedCrop.box(width: 1000, height: 10, scale: 0.9...1.0, random: &random)
        XCTAssertTrue(wide.usedFallback)
        XCTAssertEqual(wide.box, CropBox(x: 493, y: 0, width: 13, height: 10))   // w = round(10 * 4/3)
        let tall = RandomResizedCrop.box(width: 10, height: 1000, scale: 0.9...1.0, random: &random)
        XCTAssertTrue(tall.usedFallback)
        XCTAssertEqual(tall.box, CropBox(x: 0, y: 493, width: 10, height: 13))   // h = round(10 / (3/4))
        let square = RandomResizedCrop.box(width: 100, height: 90, scale: 2.0...3.0, random: &random)
        XCTAssertTrue(square.usedFallback)
        XCTAssertEqual(square.box, CropBox(x: 0, y: 0, width: 100, height: 90))
    }

    func testViewsAreDeterministicAndDistinct() throws {
        let image = try ImagingFixtures.decode("baseline_q90_300x199.jpg")
        let n = 32
        func view(_ index: Int, seed: UInt64 = 1, key: String = "a/b.jpg") -> [Float] {
            var out = [Float](repeating: .nan, count: 3 * n * n)
            out.withUnsafeMutableBufferPointer {
                Preprocess.view(image, view: index, seed: seed, itemKey: key, size: n, into: $0.baseAddress!)
            }
            return out
        }
        XCTAssertEqual(view(3), view(3))
        XCTAssertNotEqual(view(1), view(2))
        XCTAssertNotEqual(view(1, seed: 1), view(1, seed: 2))
        XCTAssertNotEqual(view(1, key: "a/b.jpg"), view(1, key: "a/c.jpg"))
        XCTAssertEqual(view(0, seed: 1), view(0, seed: 99))  // view 0 is the eval transform
        var eval = [Float](repeating: .nan, count: 3 * n * n)
        eval.withUnsafeMutableBufferPointer { Preprocess.clipEval(image, size: n, into: $0.baseAddress!) }
        XCTAssertEqual(view(0), eval)
    }

    func testTrainViewIsCropResizeThenFlipWithHalfProbability() throws {
        let image = try ImagingFixtures.decode("progressive_64x250.jpg")
        var flips = 0
        for seed in 0..<200 {
            let viewSeed = ViewSeed.make(seed: 5, itemKey: "progressive_64x250.jpg", view: seed + 1)
            var random = ViewRandom(seed: viewSeed)
            let box = RandomResizedCrop.box(width: image.width, height: image.height, random: &random).box
            let flip = random.uniform() < 0.5
            let plain = Resample.bicubic(image.cropped(x: box.x, y: box.y, width: box.width, height: box.height), width: 24, height: 24)
            let view = Preprocess.trainViewPixels(image, size: 24, viewSeed: viewSeed)
            XCTAssertEqual(view, flip ? plain.flippedHorizontally() : plain, "seed \(seed) box \(box)")
            if flip { flips += 1 }
        }
        XCTAssertEqual(Double(flips) / 200, 0.5, accuracy: 0.1)
    }
}
