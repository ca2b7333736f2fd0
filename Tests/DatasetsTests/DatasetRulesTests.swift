import DatasetNames
import XCTest
@testable import Datasets

/// Label-space rules, base-to-new, templates, manifest hashes and error messages.
final class DatasetRulesTests: XCTestCase {
    private func make(_ train: [(String, Int)], _ test: [(String, Int)] = [], name: String = "Toy",
                      classname: @escaping (Int) -> String = { "class_\($0)" }) throws -> Dataset {
        let items = { (rows: [(String, Int)]) in rows.map { DatasetItem(path: $0.0, label: $0.1, classname: classname($0.1)) } }
        return try Dataset(name: name, imageRoot: URL(fileURLWithPath: "/d"), train: items(train), val: items(test), test: items(test),
                           templates: PromptTemplates.templates(for: name))
    }

    func testBaseToNewOddCount() throws {
        // 37 classes (OxfordPets): base 19, new 18.
        let train = (0..<74).map { ("tr\($0).jpg", $0 % 37) }
        let test = (0..<37).map { ("te\($0).jpg", 36 - $0) }
        let pets = try make(train, test)
        let base = try pets.subsampleClasses(.base)
        let new = try pets.subsampleClasses(.new)
        XCTAssertEqual(base.numClasses, 19)
        XCTAssertEqual(new.numClasses, 18)
        XCTAssertEqual(base.classnames, (0..<19).map { "class_\($0)" })
        XCTAssertEqual(new.classnames, (19..<37).map { "class_\($0)" })
        XCTAssertEqual(base.train.count, 38)
        XCTAssertEqual(new.test.count, 18)
        // Relabelled in sorted order: old 19 → 0, old 36 → 17; test order kept.
        XCTAssertEqual(new.test.first, DatasetItem(path: "te0.jpg", label: 17, classname: "class_36"))
        XCTAssertEqual(new.test.last, DatasetItem(path: "te17.jpg", label: 0, classname: "class_19"))
        XCTAssertEqual(try pets.subsampleClasses(.all).train, pets.train)
        // Even count: 4 → 2/2.
        let four = try make((0..<4).map { ("x\($0)", $0) })
        XCTAssertEqual(try four.subsampleClasses(.base).classnames, ["class_0", "class_1"])
        XCTAssertEqual(try four.subsampleClasses(.new).train.map(\.label), [0, 1])
    }

    func testLabelSpaceValidation() throws {
        XCTAssertDatasetError(try make([("a", 0), ("b", 2)]),
                              "Toy: train labels must be 0..<2 but label 2 appears and 1 has no item; renumber the labels")
        XCTAssertDatasetError(try make([("a", 0)], [("t", 3)]),
                              "Toy: val item 't' has label 3, outside the 1 train classes; fix the split file")
        XCTAssertDatasetError(try Dataset(name: "Toy", imageRoot: URL(fileURLWithPath: "/d"),
                                          train: [DatasetItem(path: "a", label: 0, classname: "x"), DatasetItem(path: "b", label: 0, classname: "y")],
                                          val: [], test: [], templates: PromptTemplates.templates(for: "Toy")),
                              "Toy: label 0 has two class names in train ('x' and 'y'); fix the split file")
    }

    func testManifestHash() throws {
        let a = try make([("b.jpg", 1), ("a.jpg", 0)], [])
        let withTest = try Dataset(name: "Toy", imageRoot: URL(fileURLWithPath: "/elsewhere"), train: a.train, val: [],
                                   test: [DatasetItem(path: "c.jpg", label: 0, classname: "class_0")], templates: a.templates)
        // hashlib.sha256("".join(sorted(["train\tb.jpg\t1\n", "train\ta.jpg\t0\n", "test\tc.jpg\t0\n"])).encode())
        XCTAssertEqual(withTest.manifestSHA256, "b7d3f4639de6a45aab01531cb5f8e248bd43c1c2f18ab2e0a1082c058fc1049d")
        let reordered = try withTest.replacing(train: withTest.train.reversed(), val: [], test: withTest.test)
        XCTAssertEqual(reordered.manifestSHA256, withTest.manifestSHA256)
        let relabelled = try withTest.replacing(train: [DatasetItem(path: "b.jpg", label: 0, classname: "class_0"),
                                                        DatasetItem(path: "a.jpg", label: 1, classname: "class_1")],
                                                val: [], test: withTest.test)
        XCTAssertNotEqual(relabelled.manifestSHA256, withTest.manifestSHA256)
    }

    func testTemplates() {
        let expected: [String: String] = [
            "OxfordPets": "a photo of a {}, a type of pet.", "OxfordFlowers": "a photo of a {}, a type of flower.",
            "FGVCAircraft": "a photo of a {}, a type of aircraft.", "DescribableTextures": "{} texture.",
            "EuroSAT": "a centered satellite photo of {}.", "Food101": "a photo of {}, a type of food.",
            "UCF101": "a photo of a person doing {}.", "StanfordCars": "a photo of a {}.", "SUN397": "a photo of a {}.",
            "Caltech101": "a photo of a {}.", "ImageNet": "a photo of a {}.", "ImageNetV2": "a photo of a {}.",
            "ImageNetSketch": "a photo of a {}.", "ImageNetA": "a photo of a {}.", "ImageNetR": "a photo of a {}.",
        ]
        for name in DatasetName.all.prefix(15) {
            XCTAssertEqual(PromptTemplates.templates(for: name).zeroShot, expected[name], name)
        }
        let select = ["itap of a {}.", "a bad photo of the {}.", "a origami {}.", "a photo of the large {}.",
                      "a {} in a video game.", "art of the {}.", "a photo of the small {}."]
        XCTAssertEqual(PromptTemplates.templates(for: "ImageNet").ensemble, select)
        XCTAssertEqual(PromptTemplates.templates(for: "DescribableTextures").ensemble, select + ["{} texture."])
        XCTAssertEqual(PromptTemplates.templates(for: "ImageNetA").ensemble, select + ["a photo of a {}."])
        XCTAssertEqual(PromptTemplates.prompt("a photo of a {}, a type of pet.", classname: "american_pit_bull_terrier"),
                       "a photo of a american pit bull terrier, a type of pet.")
        XCTAssertEqual(PromptTemplates.prompt("a photo of a person doing {}.", classname: "Apply_Eye_Makeup"),
                       "a photo of a person doing Apply Eye Makeup.")
    }

    func testStoredNamesMatchAnySpellingOfTheDataset() {
        XCTAssertTrue(DatasetName.stored("OxfordPets", matches: "oxford_pets"))
        XCTAssertTrue(DatasetName.stored("DescribableTextures", matches: "dtd"))
        XCTAssertTrue(DatasetName.stored("colored-shapes", matches: "Colored-Shapes"))
        XCTAssertFalse(DatasetName.stored("OxfordPets", matches: "Caltech101"))
        XCTAssertFalse(DatasetName.stored("colored-shapes", matches: "plain-shapes"))
    }

    func testCatalogNamesAndErrors() throws {
        XCTAssertEqual(try DatasetCatalog.canonicalName("DTD"), "DescribableTextures")
        XCTAssertEqual(try DatasetCatalog.canonicalName("imagenet-a"), "ImageNetA")
        XCTAssertEqual(try DatasetCatalog.canonicalName("Imagenet_Sketch"), "ImageNetSketch")
        XCTAssertEqual(try DatasetCatalog.canonicalName("fgvc_aircraft"), "FGVCAircraft")
        XCTAssertEqual(try DatasetCatalog.canonicalName("eurosat"), "EuroSAT")
        XCTAssertDatasetError(try DatasetCatalog.canonicalName("cifar10"),
                              "unknown dataset 'cifar10'; known: ImageNet, Caltech101, OxfordPets, StanfordCars, OxfordFlowers, Food101, FGVCAircraft, SUN397, DescribableTextures, EuroSAT, UCF101, ImageNetV2, ImageNetSketch, ImageNetA, ImageNetR, split-json, image-folder, csv (case-insensitive; aliases such as dtd, pets, imagenet-a)")

        let tree = try FakeTree()
        XCTAssertDatasetError(try DatasetCatalog.load(name: "OxfordPets", root: tree.root),
                              "\(tree.root.path)/oxford_pets: folder not found; it should hold the OxfordPets dataset (CoOp layout: $DATA/oxford_pets/)")
        // A dataset folder without split JSON and without the data to generate it.
        try tree.dir("dtd")
        XCTAssertDatasetError(try DatasetCatalog.load(name: "dtd", root: tree.root),
                              "\(tree.root.path)/dtd/images: folder not found; it should hold one folder of images per class")
    }

    func testMalformedSplitJSON() throws {
        let tree = try FakeTree()
        let path = "oxford_pets/split_zhou_OxfordPets.json"
        let good = (0..<12).map { #"["a\#($0).jpg", 0, "abyssinian"]"# }.joined(separator: ", ")
        let cases: [(String, String)] = [
            (#"{"train": [\#(good), ["x.jpg", "zero", "abyssinian"]], "val": [], "test": []}"#,
             "split_zhou_OxfordPets.json: train[12] is not [path, label, classname]; regenerate the split file"),
            (#"{"train": [\#(good)], "val": [["v.jpg", 0]], "test": []}"#,
             "split_zhou_OxfordPets.json: val[0] is not [path, label, classname]; regenerate the split file"),
            (#"{"train": [\#(good)], "val": [], "test": [["t.jpg", 0.5, "abyssinian"]]}"#,
             "split_zhou_OxfordPets.json: test[0] is not [path, label, classname]; regenerate the split file"),
            (#"{"train": [\#(good)], "test": []}"#,
             "split_zhou_OxfordPets.json: missing key \"val\"; regenerate the split file"),
            (#"{"train": {}, "val": [], "test": []}"#,
             "split_zhou_OxfordPets.json: train is not a list of [path, label, classname]; regenerate the split file"),
            (#"[["a.jpg", 0, "x"]]"#,
             "split_zhou_OxfordPets.json: top level is not an object {\"train\": [...], ...}; regenerate the split file"),
            (#"{"train": [\#(good)"#, "split_zhou_OxfordPets.json: not valid JSON; regenerate the split file"),
        ]
        for (text, message) in cases {
            try tree.file(path, text)
            XCTAssertDatasetError(try DatasetCatalog.load(name: "OxfordPets", root: tree.root), message)
        }
        // int(label) semantics: "3" and 3.0 are labels.
        try tree.file(path, #"{"train": [["a.jpg", "0", "x"], ["b.jpg", 1.0, "y"]], "val": [], "test": [["c.jpg", 1, "y"]]}"#)
        XCTAssertEqual(try DatasetCatalog.load(name: "OxfordPets", root: tree.root).train.map(\.label), [0, 1])
    }
}
