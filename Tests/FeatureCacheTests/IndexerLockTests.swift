import Foundation
import XCTest
@testable import FeatureCache

final class IndexerLockTests: XCTestCase {
    private func runFlock(_ args: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        p.arguments = args
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    func testSecondWriterIsRefusedInThisProcessAndInAnother() throws {
        let path = temporaryStorePath(self)
        let store = try FeatureStore(path: path, options: .init(create: true))
        let (ext, ds) = try writeSample(store, items: 0..<2)
        let lockFile = store.path + "/cocoon.lock"
        do {
            let writer = try FeatureWriter(store: store, ext: ext, ds: ds, split: .train)
            // Same process: flock locks belong to the open file, so a second one is refused.
            assertStoreError("\(store.path): another cocoon index (pid \(getpid())) is writing to this store; wait for it or use --shard with a separate store") {
                _ = try FeatureWriter(store: store, ext: ext, ds: ds, split: .train)
            }
            // Another process cannot take it either (flock -n exits 1 on conflict).
            XCTAssertEqual(try runFlock(["-n", lockFile, "true"]), 1)
            withExtendedLifetime(writer) {}
        }
        XCTAssertEqual(try runFlock(["-n", lockFile, "true"]), 0)

        // Another process holds the lock (flock -o keeps it in flock itself while `cat` runs).
        let holder = Process()
        let stdin = Pipe()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = ["-o", lockFile, "cat"]
        holder.standardInput = stdin
        try holder.run()
        var refusal: String?
        for _ in 0..<500 where refusal == nil {
            do { _ = try IndexerLock(storePath: store.path); usleep(10_000) } catch let e as StoreError { refusal = e.message }
        }
        XCTAssertEqual(refusal, "\(store.path): another cocoon index (pid unknown) is writing to this store; wait for it or use --shard with a separate store")
        try stdin.fileHandleForWriting.close()
        holder.waitUntilExit()
        XCTAssertNoThrow(try IndexerLock(storePath: store.path))
    }
}
