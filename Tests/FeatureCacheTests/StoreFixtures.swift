import Foundation
import XCTest
@testable import FeatureCache

/// A fresh directory under the system temp dir, removed when the test ends.
func temporaryStorePath(_ test: XCTestCase, _ name: String = "store") -> String {
    let dir = (NSTemporaryDirectory() as NSString)
        .appendingPathComponent("cocoon-fc-\(getpid())-\(UUID().uuidString.prefix(8))")
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return (dir as NSString).appendingPathComponent(name)
}

/// Extractor record of a made-up model with `dim` outputs.
func sampleExtractor(name: String = "vit-test", fingerprint: String = String(repeating: "ab", count: 32),
                     dim: Int = 8) -> ExtractorRecord {
    ExtractorRecord(modelName: name, modelFingerprint: fingerprint, architecture: "ViT-T/16", embedDim: dim,
                    preprocessing: "bicubic 224, centre crop 224, CLIP mean/std", codeVersion: "test")
}

/// The recipe of the sample's augmented view 1.
let sampleRecipe = RecipeRecord(policy: "rrc(0.08-1)+hflip", seed: 1)

/// View `v` of the sample: 0 is the eval view, 1 the sample recipe's view.
func sampleView(_ v: Int) -> ViewKey { v == 0 ? .eval : ViewKey(recipe: sampleRecipe.id, view: UInt16(v)) }

/// `count` train items with labels item % 3.
func sampleItems(_ count: Int) -> [ItemRecord] {
    (0..<count).map { ItemRecord(relativePath: "class\($0 % 3)/img\($0).jpg", label: Int32($0 % 3), fileSize: UInt64(1000 + $0)) }
}

/// Deterministic feature value of (item, view, component): spans several binades, with signs.
func sampleValue(_ item: Int, _ view: Int, _ j: Int) -> Float {
    let x = Float((item * 131 + view * 71 + j * 37) % 997) / 997 - 0.5
    return x * Float(1 << (j % 5))
}

/// [views, dim] features of one item.
func sampleFeatures(item: Int, views: Int, dim: Int) -> [Float] {
    var out = [Float]()
    for v in 0..<views { for j in 0..<dim { out.append(sampleValue(item, v, j)) } }
    return out
}

/// Registers the sample extractor, recipe and dataset and writes items `range` (view 0 and the
/// recipe's view 1).
@discardableResult
func writeSample(_ store: FeatureStore, items range: Range<Int>, totalItems: Int = 20, dim: Int = 8,
                 dtype: FeatureDType = .f16, batchItems: Int = 4, name: String = "vit-test",
                 fingerprint: String = String(repeating: "ab", count: 32)) throws -> (ExtractorID, DatasetID) {
    let record = sampleExtractor(name: name, fingerprint: fingerprint, dim: dim)
    let ext = try store.registerExtractor(record)
    let ds = try store.registerDataset(name: "toy", classnames: ["a", "b", "c"], items: [.train: sampleItems(totalItems)]).id
    let recipe = try store.registerRecipe(sampleRecipe)
    let writer = try FeatureWriter(store: store, ext: ext, ds: ds, split: .train, recipe: recipe, augmentedViews: 1,
                                   dtype: dtype, batchItems: batchItems)
    for i in range {
        let f = sampleFeatures(item: i, views: 2, dim: dim)
        try f.withUnsafeBufferPointer { try writer.add(item: UInt32(i), features: $0, views: [sampleView(0), sampleView(1)]) }
    }
    try writer.finish()
    return (ext, ds)
}

/// All (key, value) pairs of a sub-database, for byte-exact comparisons.
func dump(_ store: FeatureStore, _ db: SubDB) throws -> [[UInt8]] {
    try store.environment.read { t in
        var out: [[UInt8]] = []
        try t.forEach(db, prefix: []) { k, v in out.append(Array(k) + [0xff] + Array(v)); return true }
        return out
    }
}

/// Asserts that `body` throws a `StoreError` whose message contains `fragment`; returns the message.
@discardableResult
func assertStoreError(_ fragment: String, file: StaticString = #filePath, line: UInt = #line,
                      _ body: () throws -> Void) -> String? {
    do {
        try body()
        XCTFail("expected an error containing '\(fragment)'", file: file, line: line)
    } catch let e as StoreError {
        XCTAssertTrue(e.message.contains(fragment), "message: \(e.message)", file: file, line: line)
        XCTAssertFalse(e.message.contains("\n"), "one line: \(e.message)", file: file, line: line)
        return e.message
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
    }
    return nil
}
