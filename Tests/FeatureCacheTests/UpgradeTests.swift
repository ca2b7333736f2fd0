import Foundation
import XCTest
@testable import FeatureCache

/// `cocoon store upgrade` on the committed schema-1 fixture (two extractors of one model, one with
/// augmented views on a 2-shot draw): one schema-2 extractor with one recipe, every feature's
/// bytes kept, and a crash after any phase leaves a readable schema-1 or a complete schema-2 store.
final class UpgradeTests: XCTestCase {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/stores/v1/data.mdb")

    /// A writable copy of the fixture store.
    private func copyOfFixture(_ name: String) throws -> String {
        let path = temporaryStorePath(self, name)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.fixture.path, toPath: path + "/data.mdb")
        return path
    }

    /// (key, value) pairs of `db` whose key starts with `prefix`, read with no schema check.
    private func raw(_ path: String, _ db: SubDB, prefix: [UInt8] = []) throws -> [[UInt8]: [UInt8]] {
        let env = try EnvironmentRegistry.acquire(path: path, create: false, initialMapSize: 1 << 30, maxMapSize: 1 << 30)
        defer { EnvironmentRegistry.release(env) }
        return try env.read { t in
            var out: [[UInt8]: [UInt8]] = [:]
            try t.forEach(db, prefix: prefix) { k, v in out[Array(k)] = Array(v); return true }
            return out
        }
    }

    private func schema(_ path: String) throws -> Int? {
        try raw(path, .meta)[MetaRecord.key].flatMap { JSON.parse($0)?["schema"]?.int }
    }

    func testUpgradeFoldsExtractorsIntoRecipesAndKeepsEveryFeature() throws {
        let path = try copyOfFixture("v1")
        let canonical = String(cString: realpath(path, nil))
        assertStoreError("\(canonical): schema version 1, this cocoon reads version 2; upgrade it in place with `cocoon store upgrade \(canonical)`") {
            _ = try FeatureStore(path: path)
        }
        let v1 = try raw(path, .feat, prefix: [1])
        XCTAssertEqual(v1.count, 24 + 3 + 6 + 12 + 3 + 6)   // with views: train 12 + 6·2, val 3, test 6; without: 12, 3, 6

        let report = try FeatureStore.upgrade(path: path)
        XCTAssertEqual(report.fromSchema, 1)
        XCTAssertEqual(report.extractors.count, 2)
        XCTAssertEqual(Set(report.extractors.map(\.new)).count, 1, "one model + one preprocessing = one extractor")
        XCTAssertEqual(report.extractors.compactMap(\.recipe).count, 1)
        XCTAssertEqual(report.features + report.differingDuplicates + (v1.count - report.features - report.differingDuplicates), v1.count)

        let store = try FeatureStore(path: path)
        XCTAssertEqual(try schema(path), 2)
        XCTAssertEqual(try store.extractors().count, 1)
        XCTAssertEqual(try store.recipes().map(\.record), [RecipeRecord(policy: "rrc(0.08-1,3/4-4/3)+hflip", seed: 1)])
        let source = try store.lookup(model: .name("tiny-rn"), dataset: "tinyshapes")
        let recipe = try XCTUnwrap(try store.trainingRecipe(source, split: .train, choice: nil))
        let train = try store.storedViews(ext: source.ext, ds: source.ds, split: .train)
        XCTAssertEqual(train.count, 12)
        XCTAssertEqual(train.values.filter { $0.count == 3 }.count, 6)
        XCTAssertEqual(try store.subset(ds: source.ds, split: .train, name: "2shot-s1")?.count, 6)
        XCTAssertTrue(train.allSatisfy { item, views in
            views.count == 1 || views == [.eval, ViewKey(recipe: recipe, view: 1), ViewKey(recipe: recipe, view: 2)]
        })
        XCTAssertEqual(try store.storedViews(ext: source.ext, ds: source.ds, split: .test).count, 6)
        // Every schema-1 value reappears byte for byte under its schema-2 key (view 0 of the two
        // schema-1 extractors: the first in id order, the other only where its bits were the same).
        let v2 = try raw(path, .feat)
        XCTAssertEqual(v2.keys.filter { $0[0] == 1 }.count, 0, "schema-1 keys are gone")
        XCTAssertEqual(v2.count, 12 + 12 + 3 + 6)
        let values = Set(v2.values)
        XCTAssertEqual(v1.values.filter { !values.contains($0) }.count, report.differingDuplicates)
        let verified = try store.verify()
        XCTAssertTrue(verified.ok, "\(verified.problems)")
        XCTAssertEqual(try store.job(ext: source.ext, ds: source.ds, split: .train)?.status, "complete")
        XCTAssertNotNil(try store.numerics(source.ext))
        // A second run has nothing to do.
        XCTAssertEqual(try FeatureStore.upgrade(path: path).fromSchema, 2)
    }

    /// A store written before `--crop-scale` existed keeps its policy and recipe id, and a run
    /// asking for CoOp's crop scale finds its recipe; asking for 0.5 names the scales there and the fix.
    func testAnEarlierStoreIsFoundByItsCropScale() throws {
        let path = try copyOfFixture("v1-crop")
        _ = try FeatureStore.upgrade(path: path)
        let store = try FeatureStore(path: path)
        let recipes = try store.recipes()
        XCTAssertEqual(recipes.map(\.record.policy), [RecipePolicy(cropScale: 0.08).text])
        XCTAssertEqual(recipes.map(\.id.description), ["f6b13897"])
        XCTAssertEqual(recipes[0].record.cropScale, 0.08)
        let source = try store.lookup(model: .name("tiny-rn"), dataset: "tinyshapes")
        XCTAssertEqual(try store.trainingRecipe(source, split: .train, choice: .cropScale(0.08)), recipes[0].id)
        XCTAssertEqual(try store.trainingRecipe(source, split: .train, choice: nil), recipes[0].id)
        assertStoreError("\(store.path): no train views with crop scale 0.5 of tinyshapes (tiny-rn); stored crop scales: 0.08 (recipes f6b13897 (rrc(0.08-1,3/4-4/3)+hflip, seed 1, 6 items)); index them with `cocoon index … --views K --crop-scale 0.5`, or pass --recipe HEX to use another") {
            _ = try store.trainingRecipe(source, split: .train, choice: .cropScale(0.5))
        }
    }

    /// The policy string: spelled and parsed back in one place, shortest decimals.
    func testRecipePolicyRoundTrips() {
        XCTAssertEqual(RecipePolicy(cropScale: 0.08).text, "rrc(0.08-1,3/4-4/3)+hflip")
        XCTAssertEqual(RecipePolicy(cropScale: 0.5).text, "rrc(0.5-1,3/4-4/3)+hflip")
        XCTAssertEqual(RecipePolicy(cropScale: 1).text, "rrc(1-1,3/4-4/3)+hflip")
        for scale in [0.08, 0.5, 1, 1e-5, 0.333] {
            XCTAssertEqual(RecipePolicy(parsing: RecipePolicy(cropScale: scale).text)?.cropScale, scale)
        }
        for other in ["rrc(0.08-1)+hflip", "rrc(0-1,3/4-4/3)+hflip", "rrc(1.5-1,3/4-4/3)+hflip", "rrc(-1,3/4-4/3)+hflip", "hflip"] {
            XCTAssertNil(RecipePolicy(parsing: other), other)
        }
        XCTAssertEqual(RecipeChoice(recipe: "f6b13897", cropScale: 0.5), .id("f6b13897"))
        XCTAssertEqual(RecipeChoice(recipe: nil, cropScale: 0.5), .cropScale(0.5))
        XCTAssertNil(RecipeChoice(recipe: nil, cropScale: nil))
    }

    func testACrashAfterAnyPhaseLeavesAReadableStoreAndARerunFinishes() throws {
        let clean = try copyOfFixture("clean")
        try FeatureStore.upgrade(path: clean)
        let expected = try raw(clean, .feat)

        // Killed after the copy: still a complete schema-1 store (its keys and records untouched).
        let copied = try copyOfFixture("copied")
        let v1Feat = try raw(copied, .feat), v1Extractors = try raw(copied, .extractors)
        try FeatureStore.upgrade(path: copied, stoppingAfter: .copy)
        XCTAssertEqual(try schema(copied), 1)
        XCTAssertEqual(try raw(copied, .feat, prefix: [1]), v1Feat)
        XCTAssertEqual(try raw(copied, .extractors), v1Extractors)
        try FeatureStore.upgrade(path: copied)
        XCTAssertEqual(try raw(copied, .feat), expected)

        // Killed after the flip: a complete schema-2 store whose leftover schema-1 keys readers skip.
        let flipped = try copyOfFixture("flipped")
        try FeatureStore.upgrade(path: flipped, stoppingAfter: .flip)
        XCTAssertEqual(try schema(flipped), 2)
        let store = try FeatureStore(path: flipped)
        let source = try store.lookup(model: .name("tiny-rn"), dataset: "tinyshapes")
        XCTAssertEqual(try store.scan(ext: source.ext, ds: source.ds, split: .test).rows, 6)
        let report = try store.verify()
        XCTAssertFalse(report.ok)
        XCTAssertTrue(report.problems.allSatisfy { $0.contains("finish the upgrade with `cocoon store upgrade`") }, "\(report.problems)")
        try FeatureStore.upgrade(path: flipped)
        XCTAssertEqual(try raw(flipped, .feat), expected)
        XCTAssertTrue(try store.verify().ok)
    }
}
