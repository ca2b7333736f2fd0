import Foundation
import XCTest
@testable import Demo

/// The embedded demo in miniature (the reduced plan: one shot count, few epochs) on the committed
/// demo model: learned prompts must show the papers' story, and the numbers must not depend on
/// anything but the seed.
final class ReducedDemoTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func testReducedDemoShowsThePapersStoryDeterministically() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("cocoon-demo-test-\(getpid())")
        defer { try? FileManager.default.removeItem(at: work) }
        let model = ReducedDemoTests.repository.appendingPathComponent("demo/model")
        let first = try DemoRunner(modelDirectory: model, workDirectory: work, plan: .reduced).run()

        let coop16 = try XCTUnwrap(first.fewShot.first { $0.shots == 16 })
        XCTAssertGreaterThanOrEqual(coop16.coop, first.zeroShot + 10,
                                    "CoOp 16-shot \(coop16.coop)% vs zero-shot \(first.zeroShot)%")
        let zeroShotBase = first.baseToNew[0].base
        for learned in first.baseToNew.dropFirst() {
            XCTAssertGreaterThan(learned.base, zeroShotBase, "\(learned.method) base \(learned.base)% vs zero-shot \(zeroShotBase)%")
        }
        XCTAssertEqual(first.nearestWords.count, DemoPlan.reduced.coop.contextLength)
        XCTAssertTrue(first.nearestWords.joined().contains { $0.token.hasPrefix("outline") },
                      "the learned context should sit near \"outline(d)\": \(first.nearestWords.map { $0.map(\.token) })")

        // Same seed, same numbers: a second run reuses the images and the index and trains again.
        let second = try DemoRunner(modelDirectory: model, workDirectory: work, plan: .reduced).run()
        XCTAssertEqual(second.zeroShot, first.zeroShot)
        XCTAssertEqual(second.fewShot.map(\.coop), first.fewShot.map(\.coop))
        XCTAssertEqual(second.fewShot.map(\.coopLoss), first.fewShot.map(\.coopLoss))
        XCTAssertEqual(second.baseToNew.map(\.new), first.baseToNew.map(\.new))
    }
}
