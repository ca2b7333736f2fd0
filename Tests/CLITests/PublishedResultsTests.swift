import Reproduction
import XCTest

/// The published rows `reproduce` sets beside its tables: Tip-Adapter's `exp.log` few-shot rows
/// (RN50, single seed; Tip-Adapter-F labelled test-selected) per dataset and as the mean of the 11,
/// laid out on the table's shot columns, and nothing for another backbone.
final class PublishedResultsTests: XCTestCase {
    func testTipAdapterLogRowsSitBesideTheFewShotTables() throws {
        let columns = ["1", "2", "4", "8", "16"]
        let average = PublishedResults.rows(.fewShot, backbone: "RN50", columns: columns, dataset: "average")
        XCTAssertEqual(average.map(\.label), ["zero-shot CLIP", "Tip-Adapter", "CLIP-Adapter", "Tip-Adapter-F"])
        // The 11-dataset means at 16 shots the issue quotes: zero-shot 58.89, Tip 70.32, Tip-F 75.83, CLIP-Adapter 74.44.
        let at16 = Dictionary(uniqueKeysWithValues: average.map { ($0.label, $0.values[4]!.mean) })
        XCTAssertEqual(at16["zero-shot CLIP"]!, 58.89, accuracy: 0.005)
        XCTAssertEqual(at16["Tip-Adapter"]!, 70.32, accuracy: 0.005)
        XCTAssertEqual(at16["Tip-Adapter-F"]!, 75.83, accuracy: 0.005)
        XCTAssertEqual(at16["CLIP-Adapter"]!, 74.44, accuracy: 0.005)
        XCTAssertEqual(average.map { $0.values[0]!.count }, [1, 1, 1, 1], "single seed")
        XCTAssertTrue(average.last!.source.contains("test-selected"), average.last!.source)
        XCTAssertFalse(average[1].source.contains("test-selected"))

        // One dataset, on a table with fewer shot columns: EuroSAT at 1 and 16 shots.
        let eurosat = PublishedResults.rows(.fewShot, backbone: "RN50", columns: ["1", "16"], dataset: "EuroSAT")
        let tip = try XCTUnwrap(eurosat.first { $0.label == "Tip-Adapter" })
        XCTAssertEqual(tip.values.map { $0?.mean }, [54.38, 70.54])
        XCTAssertTrue(PublishedResults.rows(.fewShot, backbone: "ViT-B/16", columns: columns, dataset: "EuroSAT").isEmpty)
    }
}
