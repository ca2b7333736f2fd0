import DatasetNames
import Datasets
import Foundation
import XCTest
@testable import SyntheticShapes

/// `CoOpLayoutWorld`: a tiny world (4 classes, 3/1/2 images per class, 32 px) written once and read
/// back through `DatasetCatalog` for each of the 15 datasets, the naming rules, and byte determinism.
final class CoOpLayoutWorldTests: XCTestCase {
    static let world = CoOpLayoutWorld(classesPerDataset: 4, perClass: (3, 1, 2), imageSize: 32, seed: 5)
    private static var written: URL?
    /// The world written once per process (threads 2), removed after the class's tests.
    static var root: URL {
        if let written { return written }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cocoon-coop-world-\(UUID())")
        try! world.write(into: root, threads: 2)
        written = root
        return root
    }

    override class func tearDown() {
        if let written { try? FileManager.default.removeItem(at: written) }
        super.tearDown()
    }

    private static let colorShapeNames = Set(DemoDataset.colorShapeClasses.map(\.name))

    func testEveryDatasetLoadsThroughTheCatalogWithExactSplits() throws {
        let root = Self.root
        XCTAssertEqual(CoOpLayoutWorld.datasetNames, Array(DatasetName.all.prefix(15)))
        // (classes, train, val, test) as the readers must return them.
        let expected: [String: (Int, Int, Int, Int)] = [
            "ImageNet": (4, 12, 8, 8), "ImageNetV2": (4, 8, 0, 8), "ImageNetSketch": (4, 8, 0, 8),
            "ImageNetA": (2, 4, 0, 4), "ImageNetR": (2, 4, 0, 4),
        ]
        let worldDatasets = Self.world.datasets
        XCTAssertEqual(worldDatasets.map(\.name), CoOpLayoutWorld.datasetNames)
        for info in worldDatasets {
            let dataset = try DatasetCatalog.load(name: info.name, root: root)
            let (k, train, val, test) = expected[info.name] ?? (4, 12, 4, 8)
            XCTAssertEqual(dataset.name, info.name)
            XCTAssertEqual(dataset.numClasses, k, info.name)
            XCTAssertEqual([dataset.train.count, dataset.val.count, dataset.test.count], [train, val, test], info.name)
            XCTAssertEqual([info.counts.train, info.counts.val, info.counts.test], [train, val, test], info.name)
            XCTAssertEqual(dataset.classnames, info.classnames, info.name)
            // Display names are the colour×shape names of the world's classes, in label order.
            XCTAssertEqual(dataset.displayClassnames.map { $0.lowercased() }, info.classes.map(\.name), info.name)
            XCTAssertTrue(info.classes.allSatisfy { Self.colorShapeNames.contains($0.name) }, info.name)
            XCTAssertEqual(Set(info.classes.map(\.name)).count, k, info.name)
            // Every item carries its label's name, each class has its per-class count, each file is a 32 px JPEG.
            let perClass = info.name.hasPrefix("ImageNet") && info.name != "ImageNet" ? (2, 0, 2) : (info.name == "ImageNet" ? (3, 2, 2) : (3, 1, 2))
            for (items, n) in [(dataset.train, perClass.0), (dataset.val, perClass.1), (dataset.test, perClass.2)] {
                XCTAssertTrue(items.allSatisfy { dataset.classnames[$0.label] == $0.classname }, info.name)
                XCTAssertEqual(Dictionary(grouping: items, by: \.label).mapValues(\.count), n == 0 ? [:] : Dictionary(uniqueKeysWithValues: (0..<k).map { ($0, n) }), info.name)
                for item in items {
                    let data = try Data(contentsOf: dataset.url(of: item))
                    XCTAssertEqual(Array(data.prefix(3)), [0xFF, 0xD8, 0xFF], item.path)
                }
            }
            if info.name == "ImageNet" { XCTAssertEqual(dataset.val, dataset.test) }
            if info.name.hasPrefix("ImageNet") && info.name != "ImageNet" { XCTAssertTrue(dataset.isTestOnly, info.name) }
        }
    }

    func testImageNetVariantsShareImageNetClassesAndShiftTheDomain() throws {
        let byName = Dictionary(uniqueKeysWithValues: Self.world.datasets.map { ($0.name, $0) })
        let imageNet = byName["ImageNet"]!
        XCTAssertEqual(byName["ImageNetV2"]!.classnames, imageNet.classnames)
        XCTAssertEqual(byName["ImageNetSketch"]!.classnames, imageNet.classnames)
        for name in ["ImageNetA", "ImageNetR"] {
            let subset = byName[name]!.classnames
            let labels = subset.map { imageNet.classnames.firstIndex(of: $0)! }
            XCTAssertEqual(labels, labels.sorted(), "\(name) folders are ImageNet's sorted wnids")
        }
        XCTAssertEqual(imageNet.style, .plain)
        XCTAssertEqual(byName["ImageNetV2"]!.style, .plain)
        XCTAssertNotEqual(byName["ImageNetSketch"]!.style, imageNet.style)
        XCTAssertNotEqual(byName["ImageNetR"]!.style, imageNet.style)
        // classnames.txt ("<wnid> <name>", ImageNet's order) is in every variant's folder; V2 numbers folders 0..K-1.
        let classnames = try String(contentsOf: Self.root.appendingPathComponent("imagenet/classnames.txt"), encoding: .utf8)
        XCTAssertEqual(classnames, imageNet.classnames.enumerated().map { "n\(String(format: "%08d", $0.offset + 1)) \($0.element)\n" }.joined())
        for folder in ["imagenetv2", "imagenet-sketch", "imagenet-adversarial", "imagenet-rendition"] {
            XCTAssertEqual(try String(contentsOf: Self.root.appendingPathComponent("\(folder)/classnames.txt"), encoding: .utf8), classnames)
        }
        let v2 = try DatasetCatalog.load(name: "ImageNetV2", root: Self.root)
        XCTAssertEqual(v2.test.map(\.path).prefix(3), ["0/0001.jpeg", "0/0002.jpeg", "1/0001.jpeg"])
        let imageNetTest = try DatasetCatalog.load(name: "ImageNet", root: Self.root).test
        XCTAssertEqual(imageNetTest.first?.path, "val/n00000001/ILSVRC2012_val_00000001.JPEG")
        // V2 draws other images of the same classes.
        let first = { (dataset: Dataset) in try Data(contentsOf: dataset.url(of: dataset.test[0])) }
        XCTAssertNotEqual(try first(v2), try first(try DatasetCatalog.load(name: "ImageNet", root: Self.root)))
    }

    func testNamingRulesPerLayout() throws {
        let byName = Dictionary(uniqueKeysWithValues: Self.world.datasets.map { ($0.name, $0) })
        func names(_ name: String) -> [String] { byName[name]!.classnames }
        func matches(_ text: String, _ pattern: String) -> Bool { text.range(of: pattern, options: .regularExpression) != nil }
        for name in ["Caltech101", "Food101", "DescribableTextures", "OxfordPets"] {
            XCTAssertTrue(names(name).allSatisfy { matches($0, "^[a-z]+_[a-z]+$") }, "\(name): \(names(name))")
        }
        for name in ["ImageNet", "StanfordCars", "OxfordFlowers", "FGVCAircraft"] {
            XCTAssertTrue(names(name).allSatisfy { matches($0, "^[a-z]+ [a-z]+$") }, "\(name): \(names(name))")
        }
        XCTAssertTrue(names("UCF101").allSatisfy { matches($0, "^[A-Z][a-z]+_[A-Z][a-z]+$") }, "\(names("UCF101"))")
        XCTAssertTrue(names("EuroSAT").allSatisfy { matches($0, "^[A-Z][a-z]+ [A-Z][a-z]+$") }, "\(names("EuroSAT"))")
        // SUN397: even labels one-level "r/red_circle", odd labels two-level "c/circle/red" → "red circle".
        XCTAssertTrue(names("SUN397").enumerated().allSatisfy { matches($0.element, $0.offset % 2 == 0 ? "^[a-z]+_[a-z]+$" : "^[a-z]+ [a-z]+$") })
        // Folder-sorted layouts have sorted class names; list-file layouts keep their drawn order.
        for name in ["Caltech101", "Food101", "DescribableTextures", "EuroSAT"] {
            XCTAssertEqual(names(name), names(name).sorted(), name)
        }
        XCTAssertEqual(byName["OxfordPets"]!.classes, Self.world.drawnClasses("OxfordPets"))
        // Datasets draw their own classes.
        XCTAssertGreaterThan(Set(CoOpLayoutWorld.datasetNames.prefix(11).map { Self.world.drawnClasses($0).map(\.name) }).count, 8)

        let root = Self.root
        let fm = FileManager.default
        let pets = try DatasetCatalog.load(name: "OxfordPets", root: root)
        let petsFiles = try fm.contentsOfDirectory(atPath: root.appendingPathComponent("oxford_pets/images").path)
        XCTAssertTrue(petsFiles.contains { matches($0, "^[A-Z][a-z]+_[A-Z][a-z]+_1\\.jpg$") }, "cats are capitalised: \(petsFiles)")
        XCTAssertTrue(petsFiles.contains { matches($0, "^[a-z]+_[a-z]+_1\\.jpg$") }, "dogs are lowercase: \(petsFiles)")
        XCTAssertTrue(pets.train.allSatisfy { matches($0.path, "^[A-Za-z]+_[A-Za-z]+_[0-9]+\\.jpg$") })
        let trainval = try String(contentsOf: root.appendingPathComponent("oxford_pets/annotations/trainval.txt"), encoding: .utf8)
        XCTAssertEqual(trainval.split(separator: "\n").count, 16)
        let cars = try DatasetCatalog.load(name: "StanfordCars", root: root)
        XCTAssertEqual(cars.train.first?.path, "cars_train/00001.jpg")
        XCTAssertEqual(cars.test.first?.path, "cars_test/00001.jpg")
        let caltech = try DatasetCatalog.load(name: "Caltech101", root: root)
        XCTAssertEqual(caltech.train.first?.path, "\(caltech.classnames[0])/image_0001.jpg")
        XCTAssertTrue(fm.fileExists(atPath: root.appendingPathComponent("caltech-101/101_ObjectCategories/BACKGROUND_Google/image_0001.jpg").path))
        let euro = try DatasetCatalog.load(name: "EuroSAT", root: root)
        XCTAssertTrue(matches(euro.train[0].path, "^([A-Z][a-z]+[A-Z][a-z]+)/\\1_1\\.jpg$"), euro.train[0].path)
        let ucf = try DatasetCatalog.load(name: "UCF101", root: root)
        XCTAssertTrue(matches(ucf.test[0].path, "^[A-Z][a-z]+_[A-Z][a-z]+/v_[A-Z][a-z]+[A-Z][a-z]+_g01_c01\\.jpg$"), ucf.test[0].path)
        let flowers = try String(contentsOf: root.appendingPathComponent("oxford_flowers/cat_to_name.json"), encoding: .utf8)
        let catToName = try JSONSerialization.jsonObject(with: Data(flowers.utf8)) as! [String: String]
        XCTAssertEqual((0..<4).map { catToName["\($0 + 1)"]! }, names("OxfordFlowers"))
        let variants = try String(contentsOf: root.appendingPathComponent("fgvc_aircraft/variants.txt"), encoding: .utf8)
        XCTAssertEqual(variants, names("FGVCAircraft").map { $0 + "\n" }.joined())
        // Split files exactly where CoOp ships them.
        let shipped = ["caltech-101/split_zhou_Caltech101.json", "oxford_pets/split_zhou_OxfordPets.json",
                       "stanford_cars/split_zhou_StanfordCars.json", "oxford_flowers/split_zhou_OxfordFlowers.json",
                       "food-101/split_zhou_Food101.json", "sun397/split_zhou_SUN397.json",
                       "dtd/split_zhou_DescribableTextures.json", "eurosat/split_zhou_EuroSAT.json", "ucf101/split_zhou_UCF101.json"]
        for path in shipped { XCTAssertTrue(fm.fileExists(atPath: root.appendingPathComponent(path).path), path) }
        XCTAssertFalse(fm.fileExists(atPath: root.appendingPathComponent("fgvc_aircraft/split_zhou_FGVCAircraft.json").path))
    }

    /// Without the split JSON, the readers that regenerate CoOp's split from the official lists agree on the
    /// classes and the test split (Pets, SUN397, UCF101 read the lists; Caltech/Food/DTD/EuroSAT re-split folders).
    func testOfficialListsMatchTheSplitFiles() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cocoon-coop-lists-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        let world = CoOpLayoutWorld(classesPerDataset: 3, perClass: (4, 1, 2), imageSize: 16, seed: 2)
        try world.write(into: root)
        for (name, folder) in [("OxfordPets", "oxford_pets"), ("SUN397", "sun397"), ("UCF101", "ucf101")] {
            let withJSON = try DatasetCatalog.load(name: name, root: root)
            try FileManager.default.removeItem(at: root.appendingPathComponent("\(folder)/split_zhou_\(name).json"))
            let regenerated = try DatasetCatalog.load(name: name, root: root)
            XCTAssertEqual(regenerated.classnames, withJSON.classnames, name)
            XCTAssertEqual(regenerated.test, withJSON.test, name)
            XCTAssertEqual(Set(regenerated.train + regenerated.val), Set(withJSON.train + withJSON.val), name)
        }
        let caltech = try DatasetCatalog.load(name: "Caltech101", root: root)
        try FileManager.default.removeItem(at: root.appendingPathComponent("caltech-101/split_zhou_Caltech101.json"))
        XCTAssertEqual(try DatasetCatalog.load(name: "Caltech101", root: root).classnames, caltech.classnames)
    }

    func testSameSeedWritesIdenticalBytesAndAnotherSeedDiffers() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("cocoon-coop-det-\(UUID())")
        defer { try? FileManager.default.removeItem(at: base) }
        let one = base.appendingPathComponent("one"), again = base.appendingPathComponent("again"), other = base.appendingPathComponent("other")
        try Self.world.write(into: one, threads: 1)
        var written: [String] = []
        try Self.world.write(into: again, threads: 2) { written.append($0.name) }
        XCTAssertEqual(written, CoOpLayoutWorld.datasetNames)
        var otherWorld = Self.world
        otherWorld.seed = 6
        try otherWorld.write(into: other, threads: 2)
        let files = try Self.contents(one)
        XCTAssertEqual(try Self.contents(again), files)
        XCTAssertEqual(try Self.contents(Self.root), files)
        let otherFiles = try Self.contents(other)
        XCTAssertNotEqual(otherFiles, files)
        // Rewriting over our own root replaces the folders; a foreign folder is refused.
        try Self.world.write(into: one, threads: 2)
        XCTAssertEqual(try Self.contents(one), files)
        let foreign = base.appendingPathComponent("foreign")
        try FileManager.default.createDirectory(at: foreign.appendingPathComponent("oxford_pets"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try Self.world.write(into: foreign)) { error in
            XCTAssertTrue("\(error)".contains("oxford_pets: already exists"), "\(error)")
        }
        var bad = Self.world
        bad.classesPerDataset = 65
        XCTAssertThrowsError(try bad.write(into: foreign)) { XCTAssertTrue("\($0)".hasPrefix("--classes 65:"), "\($0)") }
    }

    /// Relative path → bytes of every file under `root`.
    static func contents(_ root: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isDirectoryKey])!
        let prefix = root.standardizedFileURL.path + "/"
        for case let url as URL in enumerator {
            if try url.resourceValues(forKeys: [.isDirectoryKey]).isDirectory == true { continue }
            files[String(url.standardizedFileURL.path.dropFirst(prefix.count))] = try Data(contentsOf: url)
        }
        return files
    }
}
