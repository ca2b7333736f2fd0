import XCTest
@testable import Datasets

/// Few-shot sampling against Dassl's `generate_fewshot_dataset` semantics run in CPython, plus the exported-pickle path.
final class FewShotTests: XCTestCase {
    private func fixtureDataset() throws -> (Dataset, [[String: Any]]) {
        let fixture = try Fixtures.json("fewshot.json")
        let train = try Fixtures.items(fixture["train"]), val = try Fixtures.items(fixture["val"])
        let dataset = try Dataset(name: "Toy", imageRoot: URL(fileURLWithPath: "/toy"), train: train, val: val, test: val,
                                  templates: PromptTemplates.templates(for: "Toy"))
        return (dataset, try XCTUnwrap(fixture["cases"] as? [[String: Any]]))
    }

    func testDrawsEqualCPython() throws {
        let (dataset, cases) = try fixtureDataset()
        XCTAssertEqual(cases.count, 12)
        for c in cases {
            let shots = try XCTUnwrap(c["shots"] as? Int), seed = try XCTUnwrap(c["seed"] as? Int)
            let subset = FewShotSampler.sample(dataset, shots: shots, seed: seed)
            XCTAssertEqual(subset.train.map(\.path), try XCTUnwrap(c["train"] as? [String]), "\(shots)-shot seed \(seed) train")
            XCTAssertEqual(subset.val?.map(\.path), try XCTUnwrap(c["val"] as? [String]), "\(shots)-shot seed \(seed) val")
        }
    }

    func testSemantics() throws {
        // Train class sizes [20, 3, 16, 17, 1, 40, 5], val [6, 2, 4, 5, 1, 9, 3] (fixture).
        let (dataset, _) = try fixtureDataset()
        let subset = FewShotSampler.sample(dataset, shots: 16, seed: 1)
        func counts(_ items: [DatasetItem]) -> [Int] {
            (0..<7).map { label in items.filter { $0.label == label }.count }
        }
        XCTAssertEqual(counts(subset.train), [16, 3, 16, 16, 1, 16, 5], "small classes kept whole, others N")
        XCTAssertEqual(counts(subset.val!), [4, 2, 4, 4, 1, 4, 3], "val capped at min(N, 4)")
        XCTAssertEqual(Set(subset.train.map(\.path)).count, subset.train.count, "no duplicates")
        XCTAssertTrue(Set(subset.train).isSubset(of: Set(dataset.train)))
        // Groups in order of first appearance of their label in the item list.
        var firstSeen: [Int] = []
        for item in dataset.train where !firstSeen.contains(item.label) { firstSeen.append(item.label) }
        var groupOrder: [Int] = []
        for item in subset.train where groupOrder.last != item.label { groupOrder.append(item.label) }
        XCTAssertEqual(groupOrder, firstSeen)
        // Deterministic per seed, different across seeds.
        XCTAssertEqual(FewShotSampler.sample(dataset, shots: 16, seed: 1), subset)
        XCTAssertNotEqual(FewShotSampler.sample(dataset, shots: 16, seed: 2), subset)
        // shots < 1: unchanged.
        var random = CPythonRandom(seed: 1)
        XCTAssertEqual(FewShotSampler.sample(dataset.train, shots: 0, random: &random), dataset.train)
        // Applied: classnames unchanged, test untouched.
        let fewShot = try dataset.subset(subset)
        XCTAssertEqual(fewShot.train.count, 73)
        XCTAssertEqual(fewShot.val.count, 22)
        XCTAssertEqual(fewShot.classnames, dataset.classnames)
        XCTAssertEqual(fewShot.test, dataset.test)
    }

    func testImageNetValIsNotSampled() throws {
        let items = (0..<30).map { DatasetItem(path: "train/c\($0 % 3)/\($0).JPEG", label: $0 % 3, classname: "c\($0 % 3)") }
        let test = (0..<9).map { DatasetItem(path: "val/c\($0 % 3)/\($0).JPEG", label: $0 % 3, classname: "c\($0 % 3)") }
        let imagenet = try Dataset(name: "ImageNet", imageRoot: URL(fileURLWithPath: "/x"), train: items, val: test, test: test,
                                   templates: PromptTemplates.templates(for: "ImageNet"), fewShotSamplesVal: false)
        let subset = FewShotSampler.sample(imagenet, shots: 2, seed: 1)
        XCTAssertNil(subset.val)
        let applied = try imagenet.subset(subset)
        XCTAssertEqual(applied.train.count, 6)
        XCTAssertEqual(applied.val, test)
    }

    /// tools/export_fewshot.py run on a pickle of stand-in dassl Datum objects from another machine's root.
    func testExportedPickleJSON() throws {
        let subset = try FewShotSampler.load(json: Fixtures.dir.appendingPathComponent("fewshot_export.json"))
        XCTAssertEqual(subset.train, [
            DatasetItem(path: "Abyssinian_3.jpg", label: 0, classname: "abyssinian"),
            DatasetItem(path: "Abyssinian_1.jpg", label: 0, classname: "abyssinian"),
            DatasetItem(path: "Bengal_7.jpg", label: 2, classname: "bengal"),
            DatasetItem(path: "Bengal_2.jpg", label: 2, classname: "bengal"),
        ])
        XCTAssertEqual(subset.val, [DatasetItem(path: "Bengal_5.jpg", label: 2, classname: "bengal")])
    }

    func testHandWrittenExportAppliedToDataset() throws {
        let tree = try FakeTree()
        let names = ["abyssinian", "american_bulldog", "bengal"]
        func items(_ prefix: String, _ n: Int) -> [(String, Int, String)] {
            (0..<n).map { ("\(prefix)\($0).jpg", $0 % 3, names[$0 % 3]) }
        }
        try tree.splitJSON("oxford_pets/split_zhou_OxfordPets.json", ["train": items("tr", 9), "val": items("va", 6), "test": items("te", 3)])
        let pets = try DatasetCatalog.load(name: "OxfordPets", root: tree.root)
        try tree.file("shot_1-seed_2.json", """
        {"source": "shot_1-seed_2.pkl",
         "train": [["tr4.jpg", 1, "american_bulldog"], ["tr0.jpg", 0, "abyssinian"], ["tr8.jpg", 2, "bengal"]],
         "val": [["va3.jpg", 0, "abyssinian"], ["va1.jpg", 1, "american_bulldog"], ["va5.jpg", 2, "bengal"]]}
        """)
        let fewShot = try pets.subset(from: tree.root.appendingPathComponent("shot_1-seed_2.json"))
        XCTAssertEqual(fewShot.train.map(\.path), ["tr4.jpg", "tr0.jpg", "tr8.jpg"])
        XCTAssertEqual(fewShot.val.map(\.label), [0, 1, 2])
        XCTAssertEqual(fewShot.classnames, names)
        XCTAssertEqual(fewShot.test.count, 3)

        try tree.file("wrong.json", #"{"train": [["images/tr4.jpg", 1, "american_bulldog"]]}"#)
        XCTAssertDatasetError(try pets.subset(from: tree.root.appendingPathComponent("wrong.json")),
                              "wrong.json: train[0] 'images/tr4.jpg' is not in the OxfordPets train split; export it with tools/export_fewshot.py --image-dir \(pets.imageRoot.path)")
        try tree.file("relabelled.json", #"{"train": [["tr4.jpg", 2, "bengal"]]}"#)
        XCTAssertDatasetError(try pets.subset(from: tree.root.appendingPathComponent("relabelled.json")),
                              "relabelled.json: train[0] 'tr4.jpg' has label 2, not 1; export it with tools/export_fewshot.py --image-dir \(pets.imageRoot.path)")
        try tree.file("bad.json", #"{"train": [["tr4.jpg", 1]]}"#)
        XCTAssertDatasetError(try FewShotSampler.load(json: tree.root.appendingPathComponent("bad.json")),
                              "bad.json: train[0] is not [path, label, classname]; regenerate the split file")
    }
}
