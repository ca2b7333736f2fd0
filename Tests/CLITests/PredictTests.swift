import Foundation
import TestSupport
import XCTest

/// `cocoon predict` classifies image files as `eval` scores the cached features: the same
/// decoders and eval transform, the same classifier; only the store's f16 rounding differs.
final class PredictTests: XCTestCase {
    func testPredictAgreesWithEvalOnTheCachedFeatures() throws {
        let world = try SyntheticWorld.shared(), scratch = try Scratch("predict")
        let prompt = scratch.path("c1.safetensors")
        try SyntheticWorld.run(["tune", "coop"] + world.task + ["--dataset", "colored-shapes", "--shots", "1", "--out", prompt, "--quiet"])
        let testFolder = world.data.appendingPathComponent("colored-shapes/test")
        // A broken file among them: reported with the index's reason and skipped.
        let broken = scratch.url.appendingPathComponent("broken.png")
        try Data("not an image".utf8).write(to: broken)
        let list = scratch.url.appendingPathComponent("list.txt")
        try "broken.png\n".write(to: list, atomically: true, encoding: .utf8)

        let run = try runCocoon(["predict", testFolder.path, "@" + list.path, "--model", world.model, "--prompt", prompt,
                                 "--format", "jsonl", "--top", "3", "--quiet"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("skipped: \(broken.path): not a JPEG or PNG file"), run.stderr)
        XCTAssertTrue(run.stderr.contains("640 images classified, 1 unreadable (skipped)"), run.stderr)
        let labels = try world.labels("colored-shapes", split: "test")
        let rows = try run.stdout.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        XCTAssertEqual(rows.count, 640)
        var correct = 0
        for row in rows {
            let top = try XCTUnwrap(row["top"] as? [[String: Any]])
            XCTAssertEqual(top.count, 3)
            let probabilities = top.map { $0["probability"] as! Double }
            XCTAssertEqual(probabilities, probabilities.sorted(by: >))
            XCTAssertLessThanOrEqual(probabilities.reduce(0, +), 1 + 1e-9)
            if top[0]["label"] as? Int == labels[row["path"] as! String] { correct += 1 }
        }
        let predictAccuracy = 100 * Double(correct) / 640
        let eval = try runCocoon(["eval", prompt] + world.task + ["--dataset", "colored-shapes", "--json"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let result = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])?["result"] as? [String: Any])
        let evalAccuracy = try XCTUnwrap(result["accuracy"] as? Double)
        print("predict \(predictAccuracy)% vs eval on cached f16 features \(evalAccuracy)%")
        XCTAssertEqual(predictAccuracy, evalAccuracy, accuracy: 100.0 * 3 / 640, "f16 storage may flip a near-tie or two")

        // Zero-shot with the class names of a stored dataset, as a table and as CSV.
        let image = testFolder.appendingPathComponent("00_000.png").path
        let table = try runCocoon(["predict", image, "--model", world.model, "--dataset", "colored-shapes", "--store", world.store, "--top", "2"])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.hasPrefix(image + "  "), table.stdout)
        let csv = try runCocoon(["predict", image, "--model", world.model, "--dataset", "colored-shapes", "--store", world.store,
                                 "--format", "csv", "--top", "2", "--quiet"])
        XCTAssertEqual(csv.stdout.split(separator: "\n").count, 3, csv.stdout)
        XCTAssertTrue(csv.stdout.hasPrefix("path,rank,label,class,probability\n" + image + ",1,"), csv.stdout)
        // Errors are one line.
        let noNames = try runCocoon(["predict", image, "--model", world.model])
        XCTAssertNotEqual(noNames.status, 0)
        XCTAssertTrue(noNames.stderr.contains("zero-shot needs class names"), noNames.stderr)
        let missing = try runCocoon(["predict", scratch.path("nothing.jpg"), "--model", world.model, "--prompt", prompt])
        XCTAssertTrue(missing.stderr.contains("nothing.jpg: no such file or folder"), missing.stderr)
    }
}
