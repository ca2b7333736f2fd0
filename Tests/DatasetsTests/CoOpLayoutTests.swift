import XCTest
@testable import Datasets

/// Every CoOp layout read from a fake tree of empty files (CoOp's folder, image-dir and split-file names).
final class CoOpLayoutTests: XCTestCase {
    /// (catalog name, canonical name, folder, image dir relative to the dataset folder, class names as stored, a sample path).
    private let splitJSONDatasets: [(String, String, String, String, [String], String)] = [
        ("Caltech101", "Caltech101", "caltech-101", "caltech-101/101_ObjectCategories", ["face", "airplane", "accordion"], "airplanes/image_0001.jpg"),
        ("oxford_pets", "OxfordPets", "oxford_pets", "oxford_pets/images", ["abyssinian", "american_bulldog"], "american_bulldog_12.jpg"),
        ("cars", "StanfordCars", "stanford_cars", "stanford_cars", ["2012 Tesla Model S Sedan", "2000 AM General Hummer SUV"], "cars_train/00001.jpg"),
        ("OxfordFlowers", "OxfordFlowers", "oxford_flowers", "oxford_flowers/jpg", ["pink primrose", "hard-leaved pocket orchid"], "image_00001.jpg"),
        ("food-101", "Food101", "food-101", "food-101/images", ["apple_pie", "baby_back_ribs"], "apple_pie/1005649.jpg"),
        ("sun397", "SUN397", "sun397", "sun397/SUN397", ["abbey", "outdoor apartment_building"], "a/apartment_building/outdoor/sun_a.jpg"),
        ("dtd", "DescribableTextures", "dtd", "dtd/images", ["banded", "blotchy"], "banded/banded_0002.jpg"),
        ("EUROSAT", "EuroSAT", "eurosat", "eurosat/2750", ["Annual Crop Land", "Sea or Lake"], "AnnualCrop/AnnualCrop_1.jpg"),
        ("UCF101", "UCF101", "ucf101", "ucf101/UCF-101-midframes", ["Apply_Eye_Makeup", "Yo_Yo"], "Apply_Eye_Makeup/v_ApplyEyeMakeup_g08_c01.jpg"),
    ]

    func testSplitJSONDatasets() throws {
        for (alias, name, folder, imageDir, classnames, samplePath) in splitJSONDatasets {
            let tree = try FakeTree()
            var splits: [String: [(String, Int, String)]] = [:]
            for (split, perClass) in [("train", 3), ("val", 2), ("test", 1)] {
                // Labels listed in reverse so classnames must come from sorting by label.
                splits[split] = classnames.indices.reversed().flatMap { label in
                    (0..<perClass).map { i in (label == 1 && i == 0 && split == "train" ? samplePath : "\(split)/\(label)/\(i).jpg", label, classnames[label]) }
                }
            }
            try tree.splitJSON("\(folder)/split_zhou_\(name).json", splits)
            let dataset = try DatasetCatalog.load(name: alias, root: tree.root)
            XCTAssertEqual(dataset.name, name)
            XCTAssertEqual(dataset.imageRoot.path, tree.root.appendingPathComponent(imageDir).path, name)
            XCTAssertEqual(dataset.classnames, classnames, name)
            XCTAssertEqual([dataset.train.count, dataset.val.count, dataset.test.count], [3, 2, 1].map { $0 * classnames.count }, name)
            let sample = try XCTUnwrap(dataset.train.first { $0.path == samplePath }, name)
            XCTAssertEqual(sample.label, 1)
            XCTAssertEqual(dataset.url(of: sample).path, tree.root.appendingPathComponent("\(imageDir)/\(samplePath)").path)
            XCTAssertEqual(dataset.templates, PromptTemplates.templates(for: name))
            XCTAssertTrue(dataset.fewShotSamplesVal)
        }
    }

    func testFGVCAircraft() throws {
        let tree = try FakeTree()
        try tree.file("fgvc_aircraft/variants.txt", "707-320\nCessna 172\nF-16A/B\n")
        try tree.file("fgvc_aircraft/images_variant_train.txt", "1025794 Cessna 172\n0034309 707-320\n0056978 F-16A/B\n1340192 Cessna 172\n")
        try tree.file("fgvc_aircraft/images_variant_val.txt", "0062765 F-16A/B\n")
        try tree.file("fgvc_aircraft/images_variant_test.txt", "1514522 707-320\n0253992 Cessna 172\n")
        let aircraft = try DatasetCatalog.load(name: "FGVCAircraft", root: tree.root)
        XCTAssertEqual(aircraft.classnames, ["707-320", "Cessna 172", "F-16A/B"])
        XCTAssertEqual(aircraft.train.map(\.label), [1, 0, 2, 1])
        XCTAssertEqual(aircraft.train[0], DatasetItem(path: "1025794.jpg", label: 1, classname: "Cessna 172"))
        XCTAssertEqual(aircraft.val.map(\.label), [2])
        XCTAssertEqual(aircraft.test.map(\.path), ["1514522.jpg", "0253992.jpg"])
        XCTAssertEqual(aircraft.imageRoot.path, tree.root.appendingPathComponent("fgvc_aircraft/images").path)
        XCTAssertEqual(aircraft.templates.zeroShot, "a photo of a {}, a type of aircraft.")

        try tree.file("fgvc_aircraft/images_variant_val.txt", "0062765 Boeing 999\n")
        XCTAssertDatasetError(try DatasetCatalog.load(name: "aircraft", root: tree.root),
                              "images_variant_val.txt: variant 'Boeing 999' of image 0062765 is not in variants.txt; use the official FGVC-Aircraft lists")
    }

    private func writeClassnames(_ tree: FakeTree, _ folder: String) throws {
        try tree.file("\(folder)/classnames.txt", "n01440764 tench\nn01443537 goldfish\nn01484850 great white shark\nn01491361 tiger shark\nn01494475 hammerhead shark\n")
    }

    func testImageNet() throws {
        let tree = try FakeTree()
        try writeClassnames(tree, "imagenet")
        for (wnid, count) in [("n01484850", 3), ("n01440764", 2), ("n01443537", 4)] {
            for i in 0..<count { try tree.file("imagenet/images/train/\(wnid)/\(wnid)_\(i).JPEG") }
            try tree.file("imagenet/images/val/\(wnid)/ILSVRC2012_val_\(wnid).JPEG")
        }
        try tree.file("imagenet/images/train/n01440764/.hidden")
        let imagenet = try DatasetCatalog.load(name: "imagenet", root: tree.root)
        XCTAssertEqual(imagenet.classnames, ["tench", "goldfish", "great white shark"])
        XCTAssertEqual(imagenet.train.count, 9)
        XCTAssertEqual(imagenet.train.map(\.label), [0, 0, 1, 1, 1, 1, 2, 2, 2])
        XCTAssertEqual(imagenet.train[0].path, "train/n01440764/n01440764_0.JPEG")
        XCTAssertEqual(imagenet.test.map(\.path), ["val/n01440764/ILSVRC2012_val_n01440764.JPEG", "val/n01443537/ILSVRC2012_val_n01443537.JPEG", "val/n01484850/ILSVRC2012_val_n01484850.JPEG"])
        XCTAssertEqual(imagenet.val, imagenet.test)
        XCTAssertFalse(imagenet.fewShotSamplesVal)
        XCTAssertEqual(imagenet.templates.ensemble.count, 7)

        try tree.dir("imagenet/images/train/n01491361")
        XCTAssertDatasetError(try DatasetCatalog.load(name: "ImageNet", root: tree.root),
                              "\(tree.root.path)/imagenet/images: train has 4 wnid folders and val 3, or their names differ; val must hold the same wnid folders")
    }

    func testImageNetV2() throws {
        let tree = try FakeTree()
        try writeClassnames(tree, "imagenetv2")
        for label in 0..<5 {
            for i in 0..<(label + 1) { try tree.file("imagenetv2/imagenetv2-matched-frequency-format-val/\(label)/\(i)abc.jpeg") }
        }
        let v2 = try DatasetCatalog.load(name: "imagenet-v2", root: tree.root)
        XCTAssertEqual(v2.classnames, ["tench", "goldfish", "great white shark", "tiger shark", "hammerhead shark"])
        XCTAssertEqual(v2.test.count, 15)
        XCTAssertEqual(v2.test.filter { $0.label == 3 }.count, 4)
        XCTAssertEqual(v2.test.last, DatasetItem(path: "4/4abc.jpeg", label: 4, classname: "hammerhead shark"))
        XCTAssertEqual(v2.train, v2.test)
        XCTAssertEqual(v2.val, [])
        XCTAssertEqual(v2.templates.ensemble.last, "a photo of a {}.", "non-ImageNet names append their template")

        try FileManager.default.removeItem(at: tree.root.appendingPathComponent("imagenetv2/imagenetv2-matched-frequency-format-val/2"))
        XCTAssertDatasetErrorContains(try DatasetCatalog.load(name: "ImageNetV2", root: tree.root), "imagenetv2-matched-frequency-format-val/2: folder not found")
    }

    func testImageNetSketchAndAdversarialAndRendition() throws {
        for (alias, name, folder, imageDir) in [("imagenet-sketch", "ImageNetSketch", "imagenet-sketch", "images"),
                                               ("imagenet-a", "ImageNetA", "imagenet-adversarial", "imagenet-a"),
                                               ("ImageNet_R", "ImageNetR", "imagenet-rendition", "imagenet-r")] {
            let tree = try FakeTree()
            try writeClassnames(tree, folder)
            // A subset of the wnids (ImageNet-A/R: 200 of 1000), created out of order, plus README.txt.
            for wnid in ["n01494475", "n01443537", "n01491361"] {
                try tree.file("\(folder)/\(imageDir)/\(wnid)/b.jpg")
                try tree.file("\(folder)/\(imageDir)/\(wnid)/a.jpg")
            }
            try tree.file("\(folder)/\(imageDir)/README.txt", "not a class")
            let dataset = try DatasetCatalog.load(name: alias, root: tree.root)
            XCTAssertEqual(dataset.name, name)
            XCTAssertEqual(dataset.classnames, ["goldfish", "tiger shark", "hammerhead shark"], name)
            XCTAssertEqual(dataset.test.map(\.label), [0, 0, 1, 1, 2, 2], name)
            XCTAssertEqual(dataset.test[1], DatasetItem(path: "n01443537/b.jpg", label: 0, classname: "goldfish"))
            XCTAssertEqual(dataset.train, dataset.test)
            XCTAssertEqual(dataset.imageRoot.path, tree.root.appendingPathComponent("\(folder)/\(imageDir)").path)

            try tree.file("\(folder)/\(imageDir)/n99999999/x.jpg")
            XCTAssertDatasetError(try DatasetCatalog.load(name: alias, root: tree.root),
                                  "\(tree.root.path)/\(folder)/classnames.txt: no line for folder 'n99999999'; use CoOp's classnames.txt")
        }
    }
}
