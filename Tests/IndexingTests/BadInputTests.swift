import FeatureCache
import Foundation
import Indexing
import TestSupport
import XCTest

/// Bad inputs: each is a clear one-line error (or a recorded failure), and nothing already stored
/// is lost (the store's records are compared before and after).
final class BadInputTests: XCTestCase {
    /// Inserts three bad train entries at positions 5, 6, 7: random bytes behind a PNG signature, a
    /// PNG cut in half, and a file that does not exist.
    private func writeDatasetWithBadFiles(_ root: URL) throws {
        try TinyDataset.write(to: root)
        let image = root.appendingPathComponent("img")
        var corrupt = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        corrupt.append(Data((0..<200).map { UInt8(truncatingIfNeeded: $0 &* 37) }))
        try corrupt.write(to: image.appendingPathComponent("corrupt.png"))
        let whole = try Data(contentsOf: image.appendingPathComponent("train_red_circle_0.png"))
        try whole.prefix(whole.count / 2).write(to: image.appendingPathComponent("truncated.png"))
        let url = root.appendingPathComponent("split.json")
        var split = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: [[Any]]]
        split["train"]!.insert(contentsOf: [["img/corrupt.png", 1, "blue_square"], ["img/truncated.png", 1, "blue_square"],
                                            ["img/missing.png", 1, "blue_square"]], at: 5)
        try JSONSerialization.data(withJSONObject: split, options: [.sortedKeys]).write(to: url)
    }

    func testUnreadableImagesAreRecordedAndSkipped() throws {
        let scratch = try Scratch("bad")
        let root = scratch.url.appendingPathComponent("toy")
        try writeDatasetWithBadFiles(root)
        let summary = try runIndexer(tinySettings(root: root, store: scratch.path("store")))
        let train = summary.splits[0]
        XCTAssertEqual(train.failures.map(\.item), [5, 6, 7])
        XCTAssertEqual(train.failures.map(\.path), ["img/corrupt.png", "img/truncated.png", "img/missing.png"])
        XCTAssertEqual(train.indexed, 15)
        for f in train.failures {
            XCTAssertTrue(f.error.hasPrefix(root.appendingPathComponent(f.path).path + ": "), f.error)
            XCTAssertFalse(f.error.contains("\n"))
        }
        XCTAssertTrue(summary.text.contains("failed train item 6: \(root.path)/img/truncated.png:"), summary.text)
        let store = try FeatureStore(path: scratch.path("store"))
        let scan = try store.scan(ext: summary.ext, ds: summary.ds, split: .train)
        XCTAssertEqual(scan.items, [0, 1, 2, 3, 4] + (8..<15).map { UInt32($0) })
        XCTAssertEqual(try store.stats().groups.first!.failures, 3)
    }

    func testStrictStopsAtTheFirstBadFileKeepingEarlierItems() throws {
        let scratch = try Scratch("strict")
        let root = scratch.url.appendingPathComponent("toy")
        try writeDatasetWithBadFiles(root)
        var settings = tinySettings(root: root, store: scratch.path("store"))
        settings.strict = true
        let message = assertOneLineError("\(root.path)/img/corrupt.png: ") { try runIndexer(settings) }
        XCTAssertTrue(message.contains("--strict: stopped at train item 5"), message)
        let store = try FeatureStore(path: scratch.path("store"))
        let groups = try store.stats().groups
        XCTAssertEqual(groups.count, 1)
        XCTAssertEqual(groups[0].items, 5)
        XCTAssertEqual(groups[0].failures, 0)
        XCTAssertEqual(groups[0].jobStatus, "running")
    }

    func testConfigurationErrorsLoseNothing() throws {
        let scratch = try Scratch("config")
        let root = scratch.url.appendingPathComponent("toy")
        try TinyDataset.write(to: root)
        let path = scratch.path("store")
        try runIndexer(tinySettings(root: root, store: path))
        let before = try StoreDump(path: path)
        XCTAssertEqual(before.featureCount, 21)

        // Malformed split JSON.
        let broken = scratch.url.appendingPathComponent("broken")
        try TinyDataset.write(to: broken)
        try Data("{\"train\": [[\"img/a.png\", 0".utf8).write(to: broken.appendingPathComponent("split.json"))
        assertOneLineError("split.json: not valid JSON") {
            try runIndexer(tinySettings(root: broken, store: path))
        }
        // Unknown dataset name.
        var unknown = tinySettings(root: root, store: path)
        unknown.datasetName = "NoSuchSet"
        assertOneLineError("unknown dataset 'NoSuchSet'") { try runIndexer(unknown) }
        // Same model name, different weights: one byte of the last tensor changed.
        let changed = scratch.url.appendingPathComponent("models/tiny-rn")
        try FileManager.default.createDirectory(at: changed, withIntermediateDirectories: true)
        for file in ["model.safetensors", "open_clip_config.json"] {
            try FileManager.default.copyItem(at: Paths.tinyRN.appendingPathComponent(file), to: changed.appendingPathComponent(file))
        }
        var weights = try Data(contentsOf: changed.appendingPathComponent("model.safetensors"))
        weights[weights.count - 2] ^= 0x01
        try weights.write(to: changed.appendingPathComponent("model.safetensors"))
        assertOneLineError("model name 'tiny-rn' is registered with fingerprint") {
            try runIndexer(tinySettings(model: changed, root: root, store: path))
        }
        // Bad options.
        var options = tinySettings(root: root, store: path)
        options.viewScope = .fewShot(shots: 4, seeds: [1])
        assertOneLineError("needs --views K > 0") { try runIndexer(options) }
        assertSameStore(try StoreDump(path: path), before)

        // The renamed model is accepted under another name, as a second extractor.
        var renamed = tinySettings(model: changed, root: root, store: path)
        renamed.modelName = "tiny-rn-edited"
        try runIndexer(renamed)
        XCTAssertEqual(try StoreDump(path: path).extractors.count, 2)
    }

    func testStoreOfAnotherSchemaVersionIsRefusedUntouched() throws {
        let scratch = try Scratch("schema")
        let root = scratch.url.appendingPathComponent("toy")
        try TinyDataset.write(to: root)
        let path = scratch.path("store")
        try runIndexer(tinySettings(root: root, store: path))
        rawLMDBPut(path: path, db: "meta", key: "schema",
                   value: #"{"creator":"cocoon 9","endian":"little (values), big (keys)","key_version":3,"schema":3,"value_version":1}"#)
        let data = URL(fileURLWithPath: path).appendingPathComponent("data.mdb")
        let bytes = try Data(contentsOf: data)
        assertOneLineError("schema version 3, this cocoon reads version 2") {
            try runIndexer(tinySettings(root: root, store: path))
        }
        XCTAssertEqual(try Data(contentsOf: data), bytes)
    }

    /// A second indexer on a locked store refuses at once, in process and as a CLI run (exit 1).
    func testSecondIndexerRefusesCleanly() throws {
        let scratch = try Scratch("lock")
        let root = scratch.url.appendingPathComponent("toy")
        try TinyDataset.write(to: root)
        let path = scratch.path("store")
        try runIndexer(tinySettings(root: root, store: path))
        let before = try StoreDump(path: path)
        let holder = try IndexerLock(storePath: path)
        var other = tinySettings(root: root, store: path, views: 1)
        other.modelName = "another"
        assertOneLineError("another cocoon index (pid \(getpid())) is writing to this store") {
            try runIndexer(other)
        }
        let cli = try runCocoon(["index", "--model", Paths.tinyRN.path, "--dataset", "split-json", "--root", root.path,
                                 "--store", path, "--views", "1"])
        XCTAssertNotEqual(cli.status, 0)
        XCTAssertTrue(cli.stderr.contains("another cocoon index (pid \(getpid())) is writing to this store; wait for it or use --shard with a separate store"), cli.stderr)
        // One error line; a `note:` about the loaded BLAS kernels may precede it (`OpenBLASCore.advice`).
        XCTAssertEqual(cli.stderr.split(separator: "\n").filter { !$0.hasPrefix("note: ") }.count, 1, cli.stderr)
        withExtendedLifetime(holder) {}
        assertSameStore(try StoreDump(path: path), before)
    }
}
