import Foundation
import XCTest
@testable import Datasets

/// Committed fixtures of this test target (Tests/Fixtures/datasets), written by tools/fixtures/datasets.py.
enum Fixtures {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/datasets")

    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: dir.appendingPathComponent(name))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// [[path, label, classname]] → items.
    static func items(_ value: Any?) throws -> [DatasetItem] {
        let rows = try XCTUnwrap(value as? [[Any]])
        return try rows.map { row in
            DatasetItem(path: try XCTUnwrap(row[0] as? String), label: try XCTUnwrap(row[1] as? Int),
                        classname: try XCTUnwrap(row[2] as? String))
        }
    }
}

/// A scratch directory tree of empty "image" files, removed on deinit.
final class FakeTree {
    let root: URL

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("cocoon-datasets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    /// Creates a file (and its folders) with the given text content.
    func file(_ path: String, _ text: String = "") throws {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    func dir(_ path: String) throws {
        try FileManager.default.createDirectory(at: root.appendingPathComponent(path), withIntermediateDirectories: true)
    }

    /// Writes a split JSON {"train": [...], "val": [...], "test": [...]}.
    func splitJSON(_ path: String, _ splits: [String: [(String, Int, String)]]) throws {
        let object = splits.mapValues { $0.map { [$0.0, $0.1, $0.2] as [Any] } }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        try file(path, String(decoding: data, as: UTF8.self))
    }
}

/// Asserts that `body` throws a DatasetError whose message equals `message`.
func XCTAssertDatasetError<T>(_ body: @autoclosure () throws -> T, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected error: \(message)", file: file, line: line)
    } catch let error as DatasetError {
        XCTAssertEqual(error.message, message, file: file, line: line)
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
    }
}

/// Asserts that `body` throws a DatasetError whose message contains `fragment`.
func XCTAssertDatasetErrorContains<T>(_ body: @autoclosure () throws -> T, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected error containing: \(fragment)", file: file, line: line)
    } catch let error as DatasetError {
        XCTAssertTrue(error.message.contains(fragment), "'\(error.message)' does not contain '\(fragment)'", file: file, line: line)
        XCTAssertFalse(error.message.contains("\n"), "error message must be one line", file: file, line: line)
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
    }
}
