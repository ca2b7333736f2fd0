import XCTest
@testable import Datasets

/// The generic layouts: split-json folder, image folder (flat and split), CSV.
final class GenericLayoutTests: XCTestCase {
    func testSplitJSONFolder() throws {
        let tree = try FakeTree()
        try tree.splitJSON("shapes/split.json", [
            "train": [("img/1.png", 1, "red_star"), ("img/0.png", 0, "blue_heart"), ("img/2.png", 1, "red_star")],
            "test": [("img/3.png", 0, "blue_heart")],
        ])
        let shapes = try DatasetCatalog.load(name: "split-json", root: tree.root.appendingPathComponent("shapes"))
        XCTAssertEqual(shapes.name, "shapes")
        XCTAssertEqual(shapes.classnames, ["blue_heart", "red_star"])
        XCTAssertEqual(shapes.displayClassnames, ["blue heart", "red star"])
        XCTAssertEqual(shapes.val, [])
        XCTAssertEqual(shapes.test, [DatasetItem(path: "img/3.png", label: 0, classname: "blue_heart")])
        XCTAssertEqual(shapes.imageRoot.path, tree.root.appendingPathComponent("shapes").path)
        XCTAssertEqual(shapes.templates.zeroShot, "a photo of a {}.")
    }

    func testImageFolderFlatIsTestOnly() throws {
        let tree = try FakeTree()
        for (cls, n) in [("zebra", 2), ("Ant", 1), ("cat", 3)] {
            for i in 0..<n { try tree.file("animals/\(cls)/\(i).jpg") }
        }
        try tree.file("animals/notes.txt")
        let animals = try DatasetCatalog.load(name: "ImageFolder", root: tree.root.appendingPathComponent("animals"))
        XCTAssertEqual(animals.classnames, ["Ant", "cat", "zebra"])
        XCTAssertEqual(animals.test.map(\.label), [0, 1, 1, 1, 2, 2])
        XCTAssertEqual(animals.test[1].path, "cat/0.jpg")
        XCTAssertEqual(animals.train, animals.test)
        XCTAssertEqual(animals.val, [])
    }

    func testImageFolderWithSplits() throws {
        let tree = try FakeTree()
        for cls in ["b", "a", "c"] {
            for i in 0..<3 { try tree.file("ds/train/\(cls)/\(i).jpg") }
            try tree.file("ds/test/\(cls)/t.jpg")
        }
        try tree.file("ds/val/c/v.jpg")
        let ds = try DatasetCatalog.load(name: "image-folder", root: tree.root.appendingPathComponent("ds"))
        XCTAssertEqual(ds.classnames, ["a", "b", "c"])
        XCTAssertEqual(ds.train.count, 9)
        XCTAssertEqual(ds.val, [DatasetItem(path: "val/c/v.jpg", label: 2, classname: "c")])
        XCTAssertEqual(ds.test.map(\.path), ["test/a/t.jpg", "test/b/t.jpg", "test/c/t.jpg"])

        try tree.file("ds/test/d/t.jpg")
        XCTAssertDatasetError(try DatasetCatalog.load(name: "image-folder", root: tree.root.appendingPathComponent("ds")),
                              "\(tree.root.path)/ds/test/d: class not present in the train/ folder; add it there or remove it")
    }

    func testCSV() throws {
        let tree = try FakeTree()
        try tree.file("c/train.csv", "path,label,classname\nimgs/a.jpg,0,sea_lake\n\"imgs/b,1.jpg\",1,\"forest, dense\"\r\nimgs/c.jpg,1,\"forest, dense\"\n")
        try tree.file("c/val.csv", "imgs/v.jpg,1,\"forest, dense\"\n")
        try tree.file("c/test.csv", "path,label,classname\nimgs/t.jpg,0,sea_lake\n\n")
        let c = try DatasetCatalog.load(name: "CSV", root: tree.root.appendingPathComponent("c"))
        XCTAssertEqual(c.classnames, ["sea_lake", "forest, dense"])
        XCTAssertEqual(c.train[1], DatasetItem(path: "imgs/b,1.jpg", label: 1, classname: "forest, dense"))
        XCTAssertEqual(c.val.count, 1)
        XCTAssertEqual(c.test, [DatasetItem(path: "imgs/t.jpg", label: 0, classname: "sea_lake")])

        // Test-only, no classname column: names from classnames.txt.
        try tree.file("d/test.csv", "x/0.png,1\nx/1.png,0\n")
        try tree.file("d/classnames.txt", "dog\ncat\n")
        let d = try DatasetCatalog.load(name: "csv", root: tree.root.appendingPathComponent("d"))
        XCTAssertEqual(d.classnames, ["dog", "cat"])
        XCTAssertEqual(d.train, d.test)
        XCTAssertEqual(d.test[0], DatasetItem(path: "x/0.png", label: 1, classname: "cat"))

        try tree.file("e/test.csv", "x/0.png,one\n")
        XCTAssertDatasetError(try DatasetCatalog.load(name: "csv", root: tree.root.appendingPathComponent("e")),
                              "test.csv: row 1 is not 'path,label[,classname]' with a label >= 0; fix the CSV")
        try tree.file("f/test.csv", "x/0.png,0\n")
        XCTAssertDatasetErrorContains(try DatasetCatalog.load(name: "csv", root: tree.root.appendingPathComponent("f")),
                                      "/f/classnames.txt: file not found; it should hold one class name per line")
        try tree.file("g/train.csv", "x/0.png,0,a\n")
        XCTAssertDatasetError(try DatasetCatalog.load(name: "csv", root: tree.root.appendingPathComponent("g")),
                              "\(tree.root.path)/g/test.csv: file not found; a CSV dataset needs test.csv (and train.csv, val.csv for training)")
    }
}
