import CLMDB
import Foundation
import XCTest
@testable import FeatureCache
import Hashing

final class CorruptionTests: XCTestCase {
    func testFlippedPayloadByteIsReported() throws {
        let store = try FeatureStore(path: temporaryStorePath(self), options: .init(create: true))
        let (ext, ds) = try writeSample(store, items: 0..<5, totalItems: 5)
        XCTAssertEqual(try store.verify().checked, 10)
        XCTAssertTrue(try store.verify().ok)

        // Flip one payload bit of (item 2, view 1) with a plain mdb_put on the store's environment.
        let key = StoreKey.feature(ext, ds, .train, item: 2, view: sampleView(1))
        try store.environment.write { t in
            var value = try XCTUnwrap(try t.get(.feat, key))
            value[16 + 5] ^= 0x10
            var k = key
            k.withUnsafeMutableBytes { kb in
                value.withUnsafeMutableBytes { vb in
                    var kv = MDB_val(mv_size: kb.count, mv_data: kb.baseAddress)
                    var vv = MDB_val(mv_size: vb.count, mv_data: vb.baseAddress)
                    XCTAssertEqual(mdb_put(t.txn, t.dbi(.feat), &kv, &vv, 0), 0)
                }
            }
        }
        let report = try store.verify()
        XCTAssertEqual(report.checked, 10)
        XCTAssertEqual(report.bad, 1)
        XCTAssertEqual(report.problems, ["checksum mismatch in feat key \(hexString(key))"])
        assertStoreError("checksum mismatch in feat key \(hexString(key)); run `cocoon store verify`") {
            _ = try store.scan(ext: ext, ds: ds, split: .train, recipe: sampleRecipe.id)
        }
        assertStoreError("checksum mismatch") { _ = try store.feature(ext: ext, ds: ds, split: .train, item: 2, view: sampleView(1)) }
        XCTAssertNotNil(try store.feature(ext: ext, ds: ds, split: .train, item: 2, view: sampleView(0)))

        // The checksum also covers the header: a changed norm is caught too.
        let key0 = StoreKey.feature(ext, ds, .train, item: 0, view: sampleView(0))
        try store.environment.write { t in
            var value = try XCTUnwrap(try t.get(.feat, key0))
            value[9] ^= 0x01
            try t.put(.feat, key0, value)
        }
        XCTAssertEqual(try store.verify().bad, 2)
    }
}
