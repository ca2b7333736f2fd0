import FeatureCache
import Foundation
import Indexing
import Kernels
import TestSupport
import XCTest

/// `--precision bf16` is part of the extractor's identity: BF16 and FP32 features of one model
/// live under two extractors, a merge keeps them apart, and a lookup that cannot tell them apart
/// asks for `--extractor`, naming each one's precision.
final class PrecisionStoreTests: XCTestCase {
    func testBF16FeaturesNeverShareAnExtractorWithFP32Ones() throws {
        guard BF16Support.available else { throw XCTSkip("this CPU has no AVX512-BF16") }
        let scratch = try Scratch("precision")
        let root = scratch.url.appendingPathComponent("toy")
        try TinyDataset.write(to: root)
        let fp32 = try runIndexer(tinySettings(root: root, store: scratch.path("fp32")))
        var bf16Settings = tinySettings(root: root, store: scratch.path("bf16"))
        bf16Settings.precision = .bf16
        let bf16 = try runIndexer(bf16Settings)
        XCTAssertNotEqual(fp32.ext, bf16.ext)
        XCTAssertNil(fp32.extractor.precision, "an FP32 record keeps the id it always had")
        XCTAssertEqual(bf16.extractor.precision, "bf16")

        // merged into one store: two extractors, each with exactly its own features
        let merged = try runCocoon(["store", "merge", "--into", scratch.path("merged"), scratch.path("fp32"), scratch.path("bf16")])
        XCTAssertEqual(merged.status, 0, merged.stderr)
        let store = try FeatureStore(path: scratch.path("merged"))
        XCTAssertEqual(Set(try store.extractors().map(\.id)), [fp32.ext, bf16.ext])
        let all = try StoreDump(path: scratch.path("merged"))
        XCTAssertEqual(all.featureCount, try StoreDump(path: scratch.path("fp32")).featureCount * 2)

        let lookup = try runCocoon(["probe", "--store", scratch.path("merged"), "--model", Paths.tinyRN.path, "--dataset", "toy"])
        XCTAssertNotEqual(lookup.status, 0)
        XCTAssertTrue(lookup.stderr.contains("2 extractors") && lookup.stderr.contains("bf16") && lookup.stderr.contains("--extractor"), lookup.stderr)
        let chosen = try runCocoon(["probe", "--store", scratch.path("merged"), "--model", Paths.tinyRN.path, "--dataset", "toy",
                                    "--extractor", bf16.ext.description])
        XCTAssertEqual(chosen.status, 0, chosen.stderr)
    }
}
