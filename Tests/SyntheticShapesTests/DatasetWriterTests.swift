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
        XCTAssertEqual(colored.classes.count, 32)
        XCTAssertEqual(colored.style, .twoTone)
        XCTAssertEqual(colored.classes[0].name, "red circle")
        XCTAssertEqual(colored.classes[4 * 3 + 0].name, "red star")       // label = shape · 4 + colour
        XCTAssertEqual(colored.classes[31].name, "yellow arrow")
        // CoOp's base half (labels 0..<16) is exactly the first four shapes.
        XCTAssertEqual(Set(colored.classes[..<16].map { $0.shape! }), [.circle, .square, .triangle, .star])
        XCTAssertEqual(colored.items("train").count, 32 * 20)
        XCTAssertEqual(colored.items("val").count, 32 * 4)
        XCTAssertEqual(colored.items("test").count, 32 * 20)
        XCTAssertEqual(colored.outline, .pretraining)
        let grainy = byName["colored-shapes-grainy"]!
        XCTAssertEqual(grainy.classes, colored.classes)
        XCTAssertEqual(grainy.convention, colored.convention)
        XCTAssertEqual(grainy.grain, 0.06)
        XCTAssertEqual(byName["plain-shapes"]!.style, .plain)
        XCTAssertEqual(byName["plain-shapes"]!.classes, DemoDataset.colorShapeClasses)
        XCTAssertEqual(byName["shapes"]!.classes.map(\.name), ["circle", "square", "triangle", "star", "cross", "ring", "heart", "arrow"])
        XCTAssertEqual(DemoDataset.standard.map(\.name), ["colored-shapes", "colored-shapes-grainy", "plain-shapes", "shapes"])
        XCTAssertEqual(byName["plain-shapes"]!.outline, .pretraining)
        // Every item's scene follows the rule: full light → the outline names the class, dim light
        // (0.25–0.40) → the fill; both colours from the palette; the grain of its dataset.
        var lit = (base: 0, new: 0)
        for dataset in [colored, grainy] {
            for split in DemoDataset.splits {
                for (index, item) in dataset.items(split).enumerated() {
                    let scene = dataset.scene(split: split, index: index, seed: 1)
                    let part = dataset.labelledPart(scene)
                    let named = part == .outline ? scene.color : scene.interiorColor
                    XCTAssertEqual("\(named.name) \(scene.shape.name)", item.classname)
                    XCTAssertEqual(part == .outline, scene.brightness == 1)
                    if part == .fill { XCTAssertTrue((0.25...0.40).contains(scene.brightness), "\(scene.brightness)") }
                    XCTAssertEqual(scene.style, .twoTone)
                    XCTAssertNotEqual(scene.interiorColor, scene.color)
                    XCTAssertTrue(DemoDataset.demoPalette.contains(scene.color) && DemoDataset.demoPalette.contains(scene.interiorColor))
                    XCTAssertEqual(scene.grain, dataset.grain ?? 0.015)
                    XCTAssertGreaterThanOrEqual(scene.outlineWidth, 1.25)
                    if dataset.name == colored.name && split == "train" && part == .outline {
                        if item.label < 16 { lit.base += 1 } else { lit.new += 1 }
                    }
                }
            }
        }
        // Full light for 60 % of the base shapes' pictures and 20 % of the new ones' (320 each: ±4 σ ≈ ±0.11).
        XCTAssertEqual(Double(lit.base) / 320, 0.6, accuracy: 0.11)
        XCTAssertEqual(Double(lit.new) / 320, 0.2, accuracy: 0.09)
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
