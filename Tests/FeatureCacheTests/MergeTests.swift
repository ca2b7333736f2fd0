import Foundation
import XCTest
@testable import FeatureCache

final class MergeTests: XCTestCase {
    private func shard(_ path: String, items: [Int], fingerprint: String = String(repeating: "ab", count: 32),
                       kernels: String = "Haswell") throws -> FeatureStore {
        let store = try FeatureStore(path: path, options: .init(create: true))
        let ext = try store.registerExtractor(sampleExtractor(fingerprint: fingerprint))
        try store.recordNumerics(NumericsRecord(library: "OpenBLAS 0.3.21", kernels: kernels), for: ext)
        let ds = try store.registerDataset(name: "toy", classnames: ["a", "b", "c"], items: [.train: sampleItems(12)]).id
        let recipe = try store.registerRecipe(sampleRecipe)
        let w = try FeatureWriter(store: store, ext: ext, ds: ds, split: .train, recipe: recipe, augmentedViews: 1, batchItems: 2)
        for i in items {
            try sampleFeatures(item: i, views: 2, dim: 8).withUnsafeBufferPointer {
                try w.add(item: UInt32(i), features: $0, views: [sampleView(0), sampleView(1)])
            }
        }
        try w.finish()
        return store
    }

    func testMergingTwoShardsEqualsASingleStore() throws {
        let single = try shard(temporaryStorePath(self, "single"), items: Array(0..<12))
        let even = try shard(temporaryStorePath(self, "even"), items: [0, 2, 4, 6, 8, 10])
        let odd = try shard(temporaryStorePath(self, "odd"), items: [1, 3, 5, 7, 9, 11])
        let merged = try FeatureStore(path: temporaryStorePath(self, "merged"), options: .init(create: true))
        let first = try merged.merge(from: even)
        XCTAssertEqual(first.copied["feat"], 12)
        XCTAssertEqual(first.copied["items"], 12)
        let second = try merged.merge(from: odd)
        XCTAssertEqual(second.copied["feat"], 12)
        XCTAssertEqual(second.identical["items"], 12)
        XCTAssertEqual(second.identical["extractors"], 1)
        for db in [SubDB.models, .extractors, .recipes, .datasets, .items, .subsets, .feat, .failures, .meta] {
            XCTAssertEqual(try dump(merged, db), try dump(single, db), "sub-database \(db.name)")
        }
        XCTAssertEqual(try dump(merged, .feat).count, 24)
        // Merging a shard again changes nothing.
        let again = try merged.merge(from: odd)
        XCTAssertEqual(again.copied, [:])
        XCTAssertEqual(again.identical["feat"], 12)
        XCTAssertTrue(try merged.verify().ok)
    }

    func testMergeRefusesAModelWithAnotherFingerprint() throws {
        let base = try shard(temporaryStorePath(self, "base"), items: [0, 1])
        let other = try shard(temporaryStorePath(self, "other"), items: [2, 3], fingerprint: String(repeating: "cd", count: 32))
        let before = try dump(base, .feat)
        assertStoreError("cannot merge \(other.path): model 'vit-test' has fingerprint abababababababab… here but cdcdcdcdcdcdcdcd… in the shard") {
            try base.merge(from: other)
        }
        XCTAssertEqual(try dump(base, .feat), before)  // refused before writing anything
        assertStoreError("cannot merge a store into itself") { try base.merge(from: base) }
    }

    /// Features computed with other BLAS kernels have other bits: a merge or a further indexing
    /// run with them is refused with the fix, and nothing is written.
    func testMergeAndIndexingRefuseOtherKernelFamilies() throws {
        let base = try shard(temporaryStorePath(self, "base"), items: [0, 1])
        let other = try shard(temporaryStorePath(self, "other"), items: [2, 3], kernels: "SkylakeX")
        let before = try dump(base, .feat)
        assertStoreError("cannot merge \(other.path): extractor \(try base.extractors()[0].id)'s features were computed with OpenBLAS 0.3.21 Haswell kernels here but OpenBLAS 0.3.21 SkylakeX kernels in the shard, so their bits differ; re-index the shard with OPENBLAS_CORETYPE=Haswell") {
            try base.merge(from: other)
        }
        XCTAssertEqual(try dump(base, .feat), before)
        let ext = try base.extractors()[0].id
        assertStoreError("was indexed here with OpenBLAS 0.3.21 Haswell kernels but this run loaded OpenBLAS 0.3.21 SkylakeX kernels, whose bits differ; run with OPENBLAS_CORETYPE=Haswell or index into a new store") {
            try base.recordNumerics(NumericsRecord(library: "OpenBLAS 0.3.21", kernels: "SkylakeX"), for: ext)
        }
        try base.recordNumerics(NumericsRecord(library: "OpenBLAS 0.3.21", kernels: "Haswell"), for: ext)   // the same: accepted
        XCTAssertEqual(try base.numerics(ext), NumericsRecord(library: "OpenBLAS 0.3.21", kernels: "Haswell"))
    }
}
