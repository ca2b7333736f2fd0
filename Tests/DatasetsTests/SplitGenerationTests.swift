import XCTest
@testable import Datasets

/// CoOp's split generation (used when split_zhou_<Name>.json is missing) against the same procedure run in CPython.
final class SplitGenerationTests: XCTestCase {
    func testCaltechReadAndSplitEqualsCPython() throws {
        let fixture = try XCTUnwrap(Fixtures.json("split_generation.json")["caltech"] as? [String: Any])
        let categories = try XCTUnwrap(fixture["categories"] as? [String: [String]])
        let tree = try FakeTree()
        for (category, files) in categories {
            for file in files { try tree.file("caltech-101/101_ObjectCategories/\(category)/\(file)") }
        }
        for ignored in ["BACKGROUND_Google", "Faces_easy"] { try tree.file("caltech-101/101_ObjectCategories/\(ignored)/image_0001.jpg") }
        try tree.file("caltech-101/101_ObjectCategories/.DS_Store")
        var random = CPythonRandom(seed: try XCTUnwrap(fixture["seed"] as? Int))
        let caltech = try DatasetCatalog.load(name: "caltech101", root: tree.root, random: &random)
        XCTAssertEqual(caltech.train, try Fixtures.items(fixture["train"]))
        XCTAssertEqual(caltech.val, try Fixtures.items(fixture["val"]))
        XCTAssertEqual(caltech.test, try Fixtures.items(fixture["test"]))
        // Capitals sort first; ignored folders dropped; renames applied.
        XCTAssertEqual(caltech.classnames, ["face", "leopard", "airplane", "ant", "brain"])
        // 11 images: round(5.5) = 6 train (half to even), round(2.2) = 2 val, 3 test.
        XCTAssertEqual([caltech.train, caltech.val, caltech.test].map { $0.filter { $0.classname == "airplane" }.count }, [6, 2, 3])
        // 9 images: round(4.5) = 4 train (Python rounds half to even), round(1.8) = 2 val, 3 test.
        XCTAssertEqual([caltech.train, caltech.val, caltech.test].map { $0.filter { $0.classname == "leopard" }.count }, [4, 2, 3])
    }

    func testPetsSplitTrainvalEqualsCPython() throws {
        let fixture = try XCTUnwrap(Fixtures.json("split_generation.json")["pets"] as? [String: Any])
        let tree = try FakeTree()
        try tree.file("oxford_pets/annotations/trainval.txt", (try XCTUnwrap(fixture["trainval_lines"] as? [String])).joined(separator: "\n") + "\n")
        try tree.file("oxford_pets/annotations/test.txt", (try XCTUnwrap(fixture["test_lines"] as? [String])).joined(separator: "\n") + "\n")
        try tree.dir("oxford_pets/images")
        var random = CPythonRandom(seed: try XCTUnwrap(fixture["seed"] as? Int))
        let pets = try DatasetCatalog.load(name: "OxfordPets", root: tree.root, random: &random)
        XCTAssertEqual(pets.train, try Fixtures.items(fixture["train"]))
        XCTAssertEqual(pets.val, try Fixtures.items(fixture["val"]))
        XCTAssertEqual(pets.test, try Fixtures.items(fixture["test"]))
        // Breed rule: name without the trailing _<n>, lowercased.
        XCTAssertEqual(pets.classnames, ["abyssinian", "american_bulldog", "bengal"])
        // 9, 11, 5 trainval images → round(0.2 n) = 2, 2, 1 val.
        XCTAssertEqual(pets.val.count, 5)
        XCTAssertEqual(pets.train.count, 20)
    }

    func testSUN397AndUCF101Generation() throws {
        let tree = try FakeTree()
        try tree.file("sun397/ClassName.txt", "/a/abbey\n/a/apartment_building/outdoor\n")
        let train = (1...5).map { "/a/abbey/sun_\($0).jpg" } + (1...6).map { "/a/apartment_building/outdoor/sun_\($0).jpg" }
        try tree.file("sun397/Training_01.txt", train.joined(separator: "\n") + "\n")
        try tree.file("sun397/Testing_01.txt", "/a/abbey/sun_9.jpg\n/a/apartment_building/outdoor/sun_9.jpg\n")
        try tree.dir("sun397/SUN397")
        let sun = try DatasetCatalog.load(name: "SUN397", root: tree.root)
        XCTAssertEqual(sun.classnames, ["abbey", "outdoor apartment_building"])
        XCTAssertEqual(sun.val.count, 2)   // round(1.0) + round(1.2)
        XCTAssertEqual(sun.train.count, 9)
        XCTAssertEqual(sun.test.map(\.path), ["a/abbey/sun_9.jpg", "a/apartment_building/outdoor/sun_9.jpg"])

        try tree.file("ucf101/ucfTrainTestlist/classInd.txt", "1 ApplyEyeMakeup\n2 YoYo\n")
        let list = (1...5).map { "ApplyEyeMakeup/v_ApplyEyeMakeup_g0\($0)_c01.avi 1" } + (1...5).map { "YoYo/v_YoYo_g0\($0)_c01.avi 2" }
        try tree.file("ucf101/ucfTrainTestlist/trainlist01.txt", list.joined(separator: "\r\n") + "\r\n")
        try tree.file("ucf101/ucfTrainTestlist/testlist01.txt", "YoYo/v_YoYo_g09_c01.avi\n")
        try tree.dir("ucf101/UCF-101-midframes")
        let ucf = try DatasetCatalog.load(name: "ucf101", root: tree.root)
        XCTAssertEqual(ucf.classnames, ["Apply_Eye_Makeup", "Yo_Yo"])
        XCTAssertEqual(ucf.test, [DatasetItem(path: "Yo_Yo/v_YoYo_g09_c01.jpg", label: 1, classname: "Yo_Yo")])
        XCTAssertEqual(ucf.val.count, 2)
        XCTAssertEqual(ucf.train.count, 8)
    }

    func testRenameRules() {
        XCTAssertEqual(SplitGeneration.sun397ClassName("a/apartment_building/outdoor"), "outdoor apartment_building")
        XCTAssertEqual(SplitGeneration.sun397ClassName("b/bakery/shop"), "shop bakery")
        XCTAssertEqual(SplitGeneration.ucf101ClassName("ApplyEyeMakeup"), "Apply_Eye_Makeup")
        XCTAssertEqual(SplitGeneration.ucf101ClassName("PlayingDaf"), "Playing_Daf")
        XCTAssertEqual(SplitGeneration.pythonRound(2.5), 2)
        XCTAssertEqual(SplitGeneration.pythonRound(3.5), 4)
        XCTAssertEqual(SplitGeneration.pythonRound(Double(15) * 0.3), 4)
    }

    func testDatasetsThatCannotBeGenerated() throws {
        let tree = try FakeTree()
        try tree.dir("oxford_flowers/jpg")
        XCTAssertDatasetError(try DatasetCatalog.load(name: "flowers", root: tree.root),
                              "\(tree.root.path)/oxford_flowers/split_zhou_OxfordFlowers.json: split file not found; download split_zhou_OxfordFlowers.json from CoOp's DATASETS.md (generating it needs imagelabels.mat, which cocoon does not read)")
    }
}
