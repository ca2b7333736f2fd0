import CLIP
import Foundation
import Imaging
import Kernels
import XCTest
@testable import SyntheticShapes

/// The committed demo model (demo/model): it loads as a CLIP model directory, its tokenizer gives the
/// ids tools/train_demo_clip.py trained with, and its image/text features equal torch's.
final class DemoModelTests: XCTestCase {
    static let modelURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("demo/model")

    func testDemoModelLoadsWithItsArchitecture() throws {
        let model = try CLIPModel(directory: Self.modelURL)
        let a = model.architecture
        XCTAssertEqual(a.embedDim, 128)
        XCTAssertEqual(a.activation, .quickGELU)
        XCTAssertEqual(a.text.width, 128)
        XCTAssertEqual(a.text.heads, 2)
        XCTAssertEqual(a.text.layers, 3)
        XCTAssertEqual(a.text.contextLength, 77)
        XCTAssertEqual(a.text.vocabularySize, 739)
        guard case .modifiedResNet(let r) = a.vision else { return XCTFail("expected a ModifiedResNet image tower") }
        XCTAssertEqual(r.blocksPerStage, [2, 2, 2, 2])
        XCTAssertEqual(r.width, 16)
        XCTAssertEqual(r.heads, 8)
        XCTAssertEqual(r.imageSize, 64)
        XCTAssertEqual(model.directory.parameterCount, 2_450_905)
        XCTAssertEqual(model.directory.preprocess.imageSize, 64)
    }

    func testTokenizerMatchesTheTrainingTokenizer() throws {
        let tokenizer = try BPETokenizer(directory: Self.modelURL)
        XCTAssertEqual(tokenizer.vocabularySize, 739)
        XCTAssertEqual(tokenizer.startOfText, 737)
        XCTAssertEqual(tokenizer.endOfText, 738)
        // From `python3 tools/train_demo_clip.py tokenize --model demo/model …` (open_clip's SimpleTokenizer).
        let expected: [(String, [Int32])] = [
            ("a photo of a red star.", [737, 320, 659, 541, 320, 544, 598, 269, 738]),
            ("An outlined orange heart on a checkered background", [737, 534, 542, 564, 584, 519, 320, 643, 532, 738]),
            ("itap of a origami  purple ARROW!", [737, 732, 541, 320, 734, 573, 583, 256, 738]),
            ("x x x x white ring.", [737, 343, 343, 343, 343, 571, 548, 269, 738]),
            ("a photo of the small green cross, a type of shape.",
             [737, 320, 659, 541, 552, 620, 561, 587, 267, 320, 83, 88, 79, 324, 541, 612, 269, 738]),
            ("looking at 3 zebras", [737, 708, 74, 520, 670, 274, 89, 68, 65, 522, 338, 738]),
            ("a filled blue star.", [737, 320, 554, 566, 598, 269, 738]),
        ]
        for (text, ids) in expected {
            let row = try tokenizer.tokenize(text)
            XCTAssertEqual(Array(row.prefix(ids.count)), ids, text)
            XCTAssertTrue(row.dropFirst(ids.count).allSatisfy { $0 == 0 }, text)
        }
    }

    func testImageAndTextFeaturesMatchTorch() throws {
        // References: `python3 tools/train_demo_clip.py features --model demo/model --image
        // <synth>/colored-shapes/test/00_000.png "a photo of a red circle." …` (a red circle of the
        // demo world) where <synth> was written by `cocoon synth --out <synth>` (seed 1); the Swift
        // side renders the same scene.
        let model = try CLIPModel(directory: Self.modelURL)
        let dataset = DemoDataset.standard.first { $0.name == "colored-shapes" }!
        let image = ShapeRenderer.render(dataset.scene(split: "test", index: 0, seed: 1))
        var pixels = [Float](repeating: 0, count: 3 * 64 * 64)  // [3, 64, 64]
        pixels.withUnsafeMutableBufferPointer { Preprocess.clipEval(image, size: 64, into: $0.baseAddress!) }
        let features = pixels.withUnsafeBufferPointer { model.image!.encode(pixels: $0.baseAddress!, batch: 1) }.toArray()
        let imageFeatures = Self.normalized(features)
        let expectedImage: [Float] = [0.188902, 0.004899, 0.002166, 0.031402, -0.066424, -0.097615, 0.084223, -0.046259]
        for k in 0..<8 { XCTAssertEqual(imageFeatures[k], expectedImage[k], accuracy: 1e-4, "image feature \(k)") }

        let prompts = ["a photo of a red circle.", "a photo of a green circle.", "an outlined red circle.", "a filled red circle.",
                       "a photo of a red star."]
        let expectedCosines: [Float] = [0.530852, 0.250833, 0.519414, 0.574148, -0.322845]
        let text = model.text.encode(tokens: try model.tokenize(prompts))   // [P, 128]
        let rows = text.toArray()
        for (p, prompt) in prompts.enumerated() {
            let t = Self.normalized(Array(rows[(p * 128)..<((p + 1) * 128)]))
            var cosine: Float = 0
            for k in 0..<128 { cosine += t[k] * imageFeatures[k] }
            XCTAssertEqual(cosine, expectedCosines[p], accuracy: 1e-4, prompt)
        }
    }

    private static func normalized(_ v: [Float]) -> [Float] {
        var sum: Float = 0
        for x in v { sum += x * x }
        let norm = sum.squareRoot()
        return v.map { $0 / norm }
    }
}
