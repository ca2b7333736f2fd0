import Foundation
import Hashing
import Imaging
import XCTest
@testable import SyntheticShapes

/// Determinism and content of the renderer: pinned SHA-256 of rendered images, thread-independent
/// corpus bytes, portable trigonometry, and pixels that show the labelled colour where the shape is.
final class RenderingTests: XCTestCase {
    func testCorpusImagesHavePinnedHashes() {
        // Pinned from this renderer (seed 1, 64 px); any change to sampling or drawing changes them.
        let pinned = [
            0: "9b05eea8635e15e4f6d79a38a178e52ea6f2847bd46fdd450d878af2844a32fa",
            1: "fe4430a764286f8db1d5ddc180db7f0d3479ac4e2813cb524f7bcc7e6df5a493",
            17: "70a58ab609abcf1f97a340f5ca5a24966579bfede2f2b4ca0d67f2c7a531471b",
        ]
        for (index, hash) in pinned {
            let image = ShapeRenderer.render(SyntheticCorpus.item(seed: 1, index: index, imageSize: 64).scene)
            XCTAssertEqual(hexString(SHA256.digest(image.pixels)), hash, "corpus image \(index)")
        }
        let again = ShapeRenderer.render(SyntheticCorpus.item(seed: 1, index: 17, imageSize: 64).scene)
        XCTAssertEqual(again, ShapeRenderer.render(SyntheticCorpus.item(seed: 1, index: 17, imageSize: 64).scene))
        XCTAssertNotEqual(again, ShapeRenderer.render(SyntheticCorpus.item(seed: 2, index: 17, imageSize: 64).scene))
    }

    func testCorpusBytesDoNotDependOnThreads() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("cocoon-synth-corpus-\(UUID())")
        defer { try? FileManager.default.removeItem(at: base) }
        try SyntheticCorpus.write(to: base.appendingPathComponent("one"), count: 300, seed: 7, imageSize: 32, threads: 1)
        try SyntheticCorpus.write(to: base.appendingPathComponent("two"), count: 300, seed: 7, imageSize: 32, threads: 3)
        for file in ["images.u8", "captions.txt", "labels.tsv", "corpus.json"] {
            let one = try Data(contentsOf: base.appendingPathComponent("one/\(file)"))
            let two = try Data(contentsOf: base.appendingPathComponent("two/\(file)"))
            XCTAssertEqual(one, two, file)
        }
        let images = try Data(contentsOf: base.appendingPathComponent("one/images.u8"))
        XCTAssertEqual(images.count, 300 * 32 * 32 * 3)
        // Image 123 in the file is the rendering of item 123.
        let expected = ShapeRenderer.render(SyntheticCorpus.item(seed: 7, index: 123, imageSize: 32).scene).pixels
        XCTAssertEqual(Array(images[(123 * 3072)..<(124 * 3072)]), expected)
        let captions = try String(contentsOf: base.appendingPathComponent("one/captions.txt"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(captions.count, 301)   // 300 lines + the final newline
        XCTAssertEqual(String(captions[123]), SyntheticCorpus.item(seed: 7, index: 123, imageSize: 32).caption)
    }

    func testPortableTrigMatchesLibm() {
        var worst = 0.0
        for k in -400...400 {
            let x = Double(k) * 0.0371
            let (s, c) = PortableTrig.sinCos(x)
            worst = max(worst, abs(s - sin(x)), abs(c - cos(x)))
        }
        XCTAssertLessThan(worst, 1e-11)   // measured 1.15e-12 (the two double-angle steps amplify rounding)
        XCTAssertEqual(PortableTrig.sinCos(0).sin, 0)
        XCTAssertEqual(PortableTrig.sinCos(0).cos, 1)
    }

    func testShapeCentreShowsTheLabelledColourAndCornersTheBackground() {
        // Plain style, no texture: the centre pixel of a filled shape is the jittered fill colour
        // (within the sensor noise); the ring's centre is background.
        for shape in [ShapeKind.circle, .square, .star, .heart, .ring] {
            var random = ShapeRandom(seed: 3, stream: 9, index: UInt64(shape.rawValue))
            let scene = ShapeScene.sample(&random, shape: shape, color: .blue, style: .plain, background: .plain)
            let image = ShapeRenderer.render(scene)
            let x = Int(scene.centerX), y = Int(scene.centerY)
            let p = (y * 64 + x) * 3
            let expected = shape == .ring ? scene.backgroundRGB : scene.rgb
            let want = [expected.0, expected.1, expected.2]
            for c in 0..<3 {
                XCTAssertEqual(Double(image.pixels[p + c]) / 255, want[c], accuracy: 0.03, "\(shape) channel \(c)")
            }
        }
    }

    func testTwoToneShapeHasOutlineColourAtTheEdgeAndInteriorInside() {
        var random = ShapeRandom(seed: 5, stream: 9, index: 0)
        let scene = ShapeScene.sample(&random, shape: .square, color: .red, style: .twoTone, background: .plain)
        XCTAssertNotEqual(scene.interiorColor, .red)
        let image = ShapeRenderer.render(scene)
        func pixel(_ x: Double, _ y: Double) -> [Double] {
            let p = (Int(y) * 64 + Int(x)) * 3
            return (0..<3).map { Double(image.pixels[p + $0]) / 255 }
        }
        let inside = pixel(scene.centerX, scene.centerY)
        XCTAssertEqual(inside[0], scene.interiorRGB.0, accuracy: 0.03)
        XCTAssertEqual(inside[2], scene.interiorRGB.2, accuracy: 0.03)
        // Walk from the centre along the shape's x axis to its bounding radius: the pixel nearest the
        // outline colour is much nearer to it than the interior and background colours are.
        func distance(_ v: [Double], _ c: (Double, Double, Double)) -> Double {
            ((v[0] - c.0) * (v[0] - c.0) + (v[1] - c.1) * (v[1] - c.1) + (v[2] - c.2) * (v[2] - c.2)).squareRoot()
        }
        let (s, c) = PortableTrig.sinCos(scene.rotation)
        let nearest = (1..<Int(scene.radius)).map { step in
            distance(pixel(scene.centerX + Double(step) * c, scene.centerY + Double(step) * s), scene.rgb)
        }.min()!
        let toInterior = distance([scene.interiorRGB.0, scene.interiorRGB.1, scene.interiorRGB.2], scene.rgb)
        let toBackground = distance([scene.backgroundRGB.0, scene.backgroundRGB.1, scene.backgroundRGB.2], scene.rgb)
        XCTAssertLessThan(nearest, 0.35 * min(toInterior, toBackground), "no outline-coloured pixel between the centre and the edge")
    }
}
