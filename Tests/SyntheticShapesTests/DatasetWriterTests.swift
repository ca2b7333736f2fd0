import Datasets
import Foundation
import Imaging
import XCTest
@testable import SyntheticShapes

/// The downstream datasets: class lists and counts, and split.json + PNGs read back by the generic
/// split-JSON reader of `Datasets` with the exact pixels of the renderer.
final class DatasetWriterTests: XCTestCase {
    func testStandardDatasetsHaveTheDocumentedClasses() {
        let byName = Dictionary(uniqueKeysWithValues: DemoDataset.standard.map { ($0.name, $0) })
        let colored = byName["colored-shapes"]!
        XCTAssertEqual(colored.classes.count, 64)
        XCTAssertEqual(colored.style, .twoTone)
        XCTAssertEqual(colored.classes[0].name, "red circle")
        XCTAssertEqual(colored.classes[8 * 3 + 0].name, "red star")       // label = shape · 8 + colour
        XCTAssertEqual(colored.classes[63].name, "black arrow")
        // CoOp's base half (labels 0..<32) is exactly the first four shapes.
        XCTAssertEqual(Set(colored.classes[..<32].map { $0.shape! }), [.circle, .square, .triangle, .star])
        XCTAssertEqual(colored.items("train").count, 64 * 20)
        XCTAssertEqual(colored.items("val").count, 64 * 4)
        XCTAssertEqual(colored.items("test").count, 64 * 20)
        XCTAssertEqual(byName["plain-shapes"]!.style, .plain)
        XCTAssertEqual(byName["plain-shapes"]!.classes, colored.classes)
        XCTAssertEqual(byName["shapes"]!.classes.map(\.name), ["circle", "square", "triangle", "star", "cross", "ring", "heart", "arrow"])
        XCTAssertEqual(DemoDataset.standard.map(\.name), ["colored-shapes", "plain-shapes", "shapes"])
        XCTAssertEqual(colored.outline, ShapeScene.OutlineWidth(minimum: 1.0, fractionLow: 0.04, fractionHigh: 0.06))
        XCTAssertEqual(byName["plain-shapes"]!.outline, .pretraining)
        // Every item's scene has its class's attributes and the dataset's style.
        for split in DemoDataset.splits {
            for (index, item) in colored.items(split).enumerated() where index % 7 == 0 {
                let scene = colored.scene(split: split, index: index, seed: 1)
                XCTAssertEqual("\(scene.color.name) \(scene.shape.name)", item.classname)
                XCTAssertEqual(scene.style, .twoTone)
                XCTAssertNotEqual(scene.interiorColor, scene.color)
                XCTAssertGreaterThanOrEqual(scene.outlineWidth, 1.0)
                XCTAssertLessThanOrEqual(scene.outlineWidth, max(1.0, 0.06 * scene.radius))
            }
        }
        // Different splits draw different images.
        XCTAssertNotEqual(ShapeRenderer.render(colored.scene(split: "train", index: 0, seed: 1)),
                          ShapeRenderer.render(colored.scene(split: "test", index: 0, seed: 1)))
    }

    func testWrittenDatasetReadsBackThroughDatasets() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cocoon-synth-ds-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        let small = DemoDataset(name: "tiny-shapes", classes: Array(DemoDataset.colorShapeClasses.prefix(3)),
                                style: .twoTone, perClass: (2, 1, 3))
        try small.write(into: root, seed: 4, imageSize: 32, threads: 2)
        let dataset = try DatasetCatalog.load(name: "split-json", root: root.appendingPathComponent("tiny-shapes"))
        XCTAssertEqual(dataset.name, "tiny-shapes")
        XCTAssertEqual(dataset.classnames, ["red circle", "green circle", "blue circle"])
        XCTAssertEqual(dataset.train.count, 6)
        XCTAssertEqual(dataset.val.count, 3)
        XCTAssertEqual(dataset.test.count, 9)
        XCTAssertEqual(dataset.test.map(\.label), [0, 0, 0, 1, 1, 1, 2, 2, 2])
        XCTAssertEqual(dataset.train[3].path, "train/01_001.png")
        XCTAssertEqual(dataset.templates.zeroShot, "a photo of a {}.")
        for (split, items) in [("train", dataset.train), ("val", dataset.val), ("test", dataset.test)] {
            for (index, item) in items.enumerated() {
                let decoded = try ImageDecoder.decode(file: dataset.url(of: item))
                XCTAssertEqual(decoded, ShapeRenderer.render(small.scene(split: split, index: index, seed: 4, imageSize: 32)), item.path)
            }
        }
        let json = try String(contentsOf: root.appendingPathComponent("tiny-shapes/split.json"), encoding: .utf8)
        XCTAssertEqual(json, small.splitJSON())
        XCTAssertTrue(json.hasPrefix("{\n\"train\": [\n  [\"train/00_000.png\", 0, \"red circle\"],\n"), json)
    }
}
