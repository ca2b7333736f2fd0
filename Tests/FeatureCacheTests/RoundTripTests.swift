import XCTest
@testable import FeatureCache
import Hashing

final class RoundTripTests: XCTestCase {
    func testF16RoundTripKeepsNormAndRoundsLikeFloat16() throws {
        let store = try FeatureStore(path: temporaryStorePath(self), options: .init(create: true))
        let dim = 8
        let (ext, ds) = try writeSample(store, items: 0..<10, totalItems: 10, dim: dim, dtype: .f16)
        let scan = try store.scan(ext: ext, ds: ds, split: .train, recipe: sampleRecipe.id)
        XCTAssertEqual(scan.rows, 20)  // 10 items × 2 views
        XCTAssertEqual(scan.dim, dim)
        for r in 0..<scan.rows {
            let item = Int(scan.items[r]), view = Int(scan.views[r])
            XCTAssertEqual(item, r / 2)  // key order: item, then view
            XCTAssertEqual(view, r % 2)
            XCTAssertEqual(scan.labels[r], Int32(item % 3))
            for j in 0..<dim {
                // Exactly the f16 rounding of the written value.
                XCTAssertEqual(scan.values[r * dim + j], Float(Float16(sampleValue(item, view, j))))
            }
        }
        let f = try XCTUnwrap(try store.feature(ext: ext, ds: ds, split: .train, item: 3, view: sampleView(1)))
        let x = (0..<dim).map { sampleValue(3, 1, $0) }
        let norm = Float(x.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot())
        XCTAssertEqual(f.norm, norm)  // the f32 norm of the unrounded vector
        XCTAssertEqual(f.dtype, .f16)
        XCTAssertFalse(f.wasNormalized)

        let unit = try store.scan(ext: ext, ds: ds, split: .train, recipe: sampleRecipe.id, normalized: true)
        for r in 0..<unit.rows {
            let n = (0..<dim).reduce(Float(0)) { $0 + unit.values[r * dim + $1] * unit.values[r * dim + $1] }
            XCTAssertEqual(n, 1, accuracy: 1e-6)
            XCTAssertEqual(unit.values[r * dim], scan.values[r * dim] / sqrt((0..<dim).reduce(Float(0)) { $0 + scan.values[r * dim + $1] * scan.values[r * dim + $1] }), accuracy: 1e-6)
        }
    }

    /// Scanning into an earlier result reuses its buffers and gives the same rows as a fresh scan.
    func testScanIntoReusedBuffers() throws {
        let store = try FeatureStore(path: temporaryStorePath(self), options: .init(create: true))
        let (ext, ds) = try writeSample(store, items: 0..<10, totalItems: 10, dim: 8)
        var reused = try store.scan(ext: ext, ds: ds, split: .train, recipe: sampleRecipe.id)
        try store.scan(ext: ext, ds: ds, split: .train, items: [3, 7], recipe: sampleRecipe.id, normalized: true, into: &reused)
        let fresh = try store.scan(ext: ext, ds: ds, split: .train, items: [3, 7], recipe: sampleRecipe.id, normalized: true)
        XCTAssertEqual(reused.rows, 4)
        XCTAssertEqual(reused.items, [3, 3, 7, 7])
        XCTAssertEqual(reused.views, [0, 1, 0, 1])
        XCTAssertEqual(reused.labels, [0, 0, 1, 1])
        XCTAssertEqual(reused.values, fresh.values)
        XCTAssertEqual(reused.values.count, 4 * 8)
        try store.scan(ext: ext, ds: ds, split: .train, recipe: sampleRecipe.id, into: &reused)  // grows again
        XCTAssertEqual(reused.rows, 20)
        XCTAssertEqual(reused.values[19 * 8 + 7], Float(Float16(sampleValue(9, 1, 7))))
    }

    func testF32RoundTripIsExact() throws {
        let store = try FeatureStore(path: temporaryStorePath(self), options: .init(create: true))
        let (ext, ds) = try writeSample(store, items: 0..<6, totalItems: 6, dim: 600, dtype: .f32)
        let scan = try store.scan(ext: ext, ds: ds, split: .train, recipe: sampleRecipe.id)
        XCTAssertEqual(scan.rows, 12)
        for r in 0..<scan.rows {
            for j in 0..<600 { XCTAssertEqual(scan.values[r * 600 + j], sampleValue(Int(scan.items[r]), Int(scan.views[r]), j)) }
        }
        XCTAssertEqual(try store.feature(ext: ext, ds: ds, split: .train, item: 5, view: sampleView(0))?.dtype, .f32)
    }

    func testSubsetScanJobRecordAndResume() throws {
        let path = temporaryStorePath(self)
        let store = try FeatureStore(path: path, options: .init(create: true))
        let (ext, ds) = try writeSample(store, items: 0..<7, totalItems: 12, batchItems: 3)
        // A second run after one stopped at item 6 writes the items the store lacks, in order.
        XCTAssertEqual(try store.storedViews(ext: ext, ds: ds, split: .train).keys.sorted(), Array(0..<7))
        XCTAssertEqual(try store.storedViews(ext: ext, ds: ds, split: .train)[3], [sampleView(0), sampleView(1)])
        let writer = try FeatureWriter(store: store, ext: ext, ds: ds, split: .train, recipe: sampleRecipe.id, augmentedViews: 1, batchItems: 3)
        let both = [sampleView(0), sampleView(1)]
        for i in 7..<12 where i != 9 {
            try sampleFeatures(item: i, views: 2, dim: 8).withUnsafeBufferPointer { try writer.add(item: UInt32(i), features: $0, views: both) }
            if i == 8 { try writer.addFailure(item: 9, error: "img9.jpg: not a JPEG file") }
        }
        assertStoreError("increasing id order") {
            try sampleFeatures(item: 2, views: 2, dim: 8).withUnsafeBufferPointer { try writer.add(item: 2, features: $0, views: both) }
        }
        assertStoreError("distinct views in order") {
            try sampleFeatures(item: 12, views: 2, dim: 8).withUnsafeBufferPointer { try writer.add(item: 12, features: $0, views: both.reversed()) }
        }
        try writer.finish()
        let job = try XCTUnwrap(try store.job(ext: ext, ds: ds, split: .train))
        XCTAssertEqual(job.nextItem, 12)
        XCTAssertEqual(job.features, 2 * 12 - 2)   // both runs: items 0–11 but 9
        XCTAssertEqual(job.failures, 1)
        XCTAssertEqual(job.status, "complete")
        XCTAssertEqual(job.lastKey, hexString(StoreKey.feature(ext, ds, .train, item: 11, view: sampleView(1))))
        let failures = try store.failures(ext: ext, ds: ds, split: .train)
        XCTAssertEqual(failures.map(\.item), [9])
        XCTAssertEqual(failures.first?.error, "img9.jpg: not a JPEG file")

        try store.putSubset(ds: ds, split: .train, name: "2shot-s1", items: [10, 4, 4, 1])
        XCTAssertEqual(try store.subset(ds: ds, split: .train, name: "2shot-s1"), [1, 4, 10])
        XCTAssertEqual(try store.subsetNames(ds: ds, split: .train), ["2shot-s1"])
        let sub = try store.scan(ext: ext, ds: ds, split: .train, items: [1, 4, 9, 10], recipe: sampleRecipe.id)
        XCTAssertEqual(sub.items, [1, 1, 4, 4, 10, 10])  // item 9 failed: no rows
        XCTAssertEqual(sub.labels, [1, 1, 1, 1, 1, 1])
        XCTAssertEqual(sub.values[4 * 8 + 3], Float(Float16(sampleValue(10, 0, 3))))

        let stats = try store.stats()
        XCTAssertEqual(stats.groups.count, 1)
        XCTAssertEqual(stats.groups[0].features, 22)
        XCTAssertEqual(stats.groups[0].items, 11)
        XCTAssertEqual(stats.groups[0].failures, 1)
        XCTAssertEqual(stats.groups[0].valueBytes, 22 * (16 + 2 * 8))
        XCTAssertEqual(stats.groups[0].jobStatus, "complete")
        XCTAssertEqual(try store.items(ds: ds, split: .train), sampleItems(12))
    }

    func testRetriedFailureIsClearedAndOutOfRangeValuesRefused() throws {
        let store = try FeatureStore(path: temporaryStorePath(self), options: .init(create: true))
        let record = sampleExtractor()
        let ext = try store.registerExtractor(record)
        let ds = try store.registerDataset(name: "toy", classnames: ["a"], items: [.test: sampleItems(3)]).id
        do {
            let w = try FeatureWriter(store: store, ext: ext, ds: ds, split: .test, batchItems: 1)
            try w.addFailure(item: 0, error: "truncated file")
            assertStoreError("beyond f16 range") {
                try [Float](repeating: 70000, count: 8).withUnsafeBufferPointer { try w.add(item: 1, features: $0) }
            }
        }
        XCTAssertEqual(try store.failures(ext: ext, ds: ds, split: .test).count, 1)
        // A later run that re-adds item 0 (a fresh job record) deletes its failure.
        try store.environment.write { t in try t.delete(.jobs, StoreKey.group(ext, ds, .test)) }
        let w = try FeatureWriter(store: store, ext: ext, ds: ds, split: .test, batchItems: 1)
        try sampleFeatures(item: 0, views: 1, dim: 8).withUnsafeBufferPointer { try w.add(item: 0, features: $0) }
        try w.finish()
        XCTAssertEqual(try store.failures(ext: ext, ds: ds, split: .test).count, 0)
    }

    func testRecordsIdsAndModelNameRefusal() throws {
        let path = temporaryStorePath(self)
        let store = try FeatureStore(path: path, options: .init(create: true))
        let a = sampleExtractor()
        let id = try store.registerExtractor(a)
        XCTAssertEqual(try store.registerExtractor(a), id)  // idempotent
        XCTAssertEqual(try store.extractor(id), a)
        // Same model with other preprocessing: a second extractor, allowed.
        var b = a
        b.preprocessing = "bicubic 336, centre crop 336, CLIP mean/std"
        XCTAssertNotEqual(try store.registerExtractor(b), id)
        XCTAssertEqual(try store.extractors().count, 2)
        // Recipes: idempotent, 4-byte ids of the canonical JSON, never 0.
        let r = try store.registerRecipe(sampleRecipe)
        XCTAssertEqual(try store.registerRecipe(sampleRecipe), r)
        XCTAssertEqual(String(decoding: sampleRecipe.json.canonical, as: UTF8.self), #"{"policy":"rrc(0.08-1)+hflip","seed":1}"#)
        XCTAssertEqual(r.description, "675471ce")   // Python: hashlib.sha256(json.dumps(r, sort_keys=True, separators=(",", ":")))[:4]
        XCTAssertEqual(try store.recipes().map(\.record), [sampleRecipe])
        // Same name, other weights: refused.
        var c = a
        c.modelFingerprint = String(repeating: "cd", count: 32)
        assertStoreError("model name 'vit-test' is registered with fingerprint abababababababab… but this model has cdcdcdcdcdcdcdcd…") {
            try store.registerExtractor(c)
        }
        // The id is SHA-256 of the canonical JSON (sorted keys, no spaces).
        let canonical = String(decoding: a.json.canonical, as: UTF8.self)
        XCTAssertEqual(canonical, #"{"architecture":"ViT-T/16","code_version":"test","embed_dim":8,"model_fingerprint":"\#(a.modelFingerprint)","model_name":"vit-test","preprocessing":"bicubic 224, centre crop 224, CLIP mean/std"}"#)
        XCTAssertEqual(id.description, hexString(SHA256.digest(Array(canonical.utf8)).prefix(8)))
        XCTAssertEqual(String(decoding: JSON.string("a\"b\\c\n").canonical, as: UTF8.self), #""a\"b\\c\u000a""#)

        // Known answers from Python: hashlib.sha256(json.dumps(r, sort_keys=True, separators=(",", ":"))).
        let vit = ExtractorRecord(modelName: "ViT-B-16-openai", modelFingerprint: String(repeating: "5f1c0d3e", count: 8),
                                  architecture: "ViT-B/16", embedDim: 512,
                                  preprocessing: "libjpeg-turbo ISLOW fancy-upsampling, EXIF orientation ignored, RGB, bicubic short side 224 (Pillow), centre crop 224, mean 0.48145466,0.4578275,0.40821073 std 0.26862954,0.26130258,0.27577711",
                                  codeVersion: "cocoon 0.1.0")
        XCTAssertEqual(vit.id.description, "180108d1866deca3")
        XCTAssertEqual(ExtractorID(hex: "180108d1866deca3"), vit.id)
        XCTAssertNil(ExtractorID(hex: "fec8bb1664cee55"))
        let toy = DatasetRecord(name: "toy3", classnames: ["airplane", "automobile", "bird"],
                                splitCounts: ["train": 1200, "test": 300], manifestSHA256: String(repeating: "9a", count: 32))
        XCTAssertEqual(toy.id.description, "da65840378625540")

        // One environment per path: a second handle shares it.
        let again = try FeatureStore(path: path + "/../store")
        XCTAssertTrue(again.environment === store.environment)
    }
}
