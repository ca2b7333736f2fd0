import Foundation
import TestSupport
import XCTest

/// `cocoon index --crop-scale`: one spelling, a one-line refusal outside (0, 1], and a second
/// recipe beside the default one (recipe ids are known answers: SHA-256 of the record's JSON).
final class CropScaleOptionTests: XCTestCase {
    func testCropScaleMakesASecondRecipeAndIsRefusedOutOfRange() throws {
        let scratch = try Scratch("crop-scale")
        let index = ["index", "--model", Paths.tinyRN.path, "--dataset", "split-json",
                     "--root", Paths.fixtures.appendingPathComponent("stores/tinyshapes").path,
                     "--store", scratch.path("store"), "--splits", "train", "--views", "1"]
        let refused = try runCocoon(index + ["--crop-scale", "1.5"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertEqual(refused.stderr.trimmingCharacters(in: .whitespacesAndNewlines),
                       "Error: --crop-scale 1.5: must be in (0, 1], the smallest crop area as a fraction of the image; pass e.g. --crop-scale 0.08 (CoOp) or 0.5 (Tip-Adapter, LP++)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path("store")), "refused before the store is created")

        let coop = try runCocoonOK(index)
        XCTAssertTrue(coop.contains("1 augmented views of recipe f6b13897"), coop)   // {"policy":"rrc(0.08-1,3/4-4/3)+hflip","seed":1}
        let tip = try runCocoonOK(index + ["--crop-scale", "0.5"])
        XCTAssertTrue(tip.contains("1 augmented views of recipe c8e1b4a2"), tip)     // {"policy":"rrc(0.5-1,3/4-4/3)+hflip","seed":1}
        XCTAssertTrue(tip.contains("train: 12 items indexed now (12 images"), "only the new recipe's view, view 0 is shared: \(tip)")
    }
}
