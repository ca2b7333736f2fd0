import Foundation
import TestSupport
import XCTest
@testable import FeatureCache

final class SchemaVersionTests: XCTestCase {
    /// The code's constant and cache-schema/VERSION cannot drift apart.
    func testVersionConstantEqualsVersionFile() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("cache-schema/VERSION")
        let text = try String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(text, String(StoreSchema.version))
        XCTAssertEqual(StoreSchema.version, 2)
    }

    func testStoreOfAnotherVersionIsRefused() throws {
        let path = temporaryStorePath(self)
        do {
            let store = try FeatureStore(path: path, options: .init(create: true))
            try writeSample(store, items: 0..<3)
        }  // last handle gone: the environment is closed
        rawLMDBPut(path: path, db: "meta", key: "schema",
               value: #"{"creator":"cocoon 9","endian":"little (values), big (keys)","key_version":3,"schema":3,"value_version":1}"#)
        let canonical = String(cString: realpath(path, nil))
        let message = assertStoreError("schema version 3") { _ = try FeatureStore(path: path) }
        XCTAssertEqual(message, "\(canonical): schema version 3, this cocoon reads version 2; use a cocoon release that reads version 3")
        // The refused open left no environment behind: a fresh open sees the same refusal.
        assertStoreError("schema version 3, this cocoon reads version 2") { _ = try FeatureStore(path: path) }
    }

    func testForeignAndMissingStoresAreRefused() throws {
        let path = temporaryStorePath(self)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        rawLMDBPut(path: path, db: nil, key: "something", value: "else")
        assertStoreError("not a cocoon store (no meta record)") { _ = try FeatureStore(path: path, options: .init(create: true)) }
        assertStoreError("no such store") { _ = try FeatureStore(path: path + "-missing") }
        let empty = temporaryStorePath(self)
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        assertStoreError("not a cocoon store (no meta record); create it with `cocoon index") { _ = try FeatureStore(path: empty) }
    }
}
