import DatasetNames
import FeatureCache
import Foundation
import Indexing
import TestSupport
import XCTest

/// SIGKILLs a child `cocoon index` at random points (commits every 2 items, so kills land between
/// and inside commits), checks the store after every kill, resumes to completion, and compares the
/// result record for record with a clean run's store.
final class CrashResumeTests: XCTestCase {
    func testKilledIndexerResumesToTheCleanResult() throws {
        let scratch = try Scratch("crash")
        let root = scratch.url.appendingPathComponent("toy")
        // enough items that encoding lasts several times the kill jitter (20 ms) on a fast build
        let counts = try TinyDataset.write(to: root, trainPerClass: 24)
        let K = 3
        func arguments(_ store: String) -> [String] {
            ["index", "--model", Paths.tinyRN.path, "--dataset", "split-json", "--root", root.path, "--store", store,
             "--views", "\(K)", "--batch", "4", "--commit-every", "2", "--threads", "1", "--decode-threads", "1",
             "--progress-every", "0"]
        }
        let clean = scratch.path("clean"), crashed = scratch.path("crashed")
        // The clean run also measures when encoding starts (first progress line on stderr) and ends,
        // so the kills can be spread over the part of a run where items are committed.
        let (startup, cleanSeconds) = try timedRun(arguments(clean))
        let reference = try StoreDump(path: clean)
        XCTAssertEqual(reference.featureCount, (K + 1) * counts.train + counts.val + counts.test)

        // Alternate kills during start-up (model load, hashing, registration) with kills while
        // items are encoded and committed: after 1–3 progress lines (one per item, on stderr) and a
        // random 0–20 ms more.
        var generator = SystemRandomNumberGenerator()
        var kills = 0, midJob = 0, attempts = 0
        while (kills < 10 || midJob < 5) && attempts < 60 {
            attempts += 1
            let process = Process()
            process.executableURL = Paths.cocoon
            process.arguments = arguments(crashed)
            process.standardOutput = FileHandle.nullDevice
            let err = Pipe()
            process.standardError = err
            let lines = DispatchSemaphore(value: 0)
            let drained = DispatchSemaphore(value: 0)
            try process.run()
            DispatchQueue.global().async {
                while true {
                    let chunk = err.fileHandleForReading.availableData
                    if chunk.isEmpty { break }
                    for byte in chunk where byte == 0x0A { lines.signal() }
                }
                for _ in 0..<3 { lines.signal() }   // the run ended: release a waiter at once
                drained.signal()
            }
            if attempts % 2 == 1 {
                Thread.sleep(forTimeInterval: Double.random(in: 0...startup, using: &generator))
            } else {
                let wanted = Int.random(in: 1...3, using: &generator)
                for _ in 0..<wanted { _ = lines.wait(timeout: .now() + cleanSeconds + 2) }
                Thread.sleep(forTimeInterval: Double.random(in: 0...0.02, using: &generator))
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            drained.wait()
            guard process.terminationReason == .uncaughtSignal else { continue }  // finished before the kill
            kills += 1
            if try checkCommittedPrefix(store: crashed, views: K + 1, counts: counts) { midJob += 1 }
        }
        XCTAssertGreaterThanOrEqual(kills, 10, "only \(kills) of \(attempts) kills landed before the run finished")
        XCTAssertGreaterThanOrEqual(midJob, 5, "only \(midJob) kills landed after some items were committed")
        print("crash test: \(kills) SIGKILLs in \(attempts) runs, \(midJob) inside a partly written job (clean run \(String(format: "%.2f", cleanSeconds)) s, encoding from \(String(format: "%.2f", startup)) s)")

        let resumed = try runCocoon(arguments(crashed))
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        assertSameStore(try StoreDump(path: crashed), reference)
        let store = try FeatureStore(path: crashed)
        XCTAssertTrue(try store.verify().ok)
        XCTAssertTrue(try store.stats().groups.allSatisfy { $0.jobStatus == "complete" })
    }

    /// Runs the CLI to completion; returns when its first stderr output (the progress line, written
    /// once encoding starts) arrived and when it exited, in seconds from the start.
    private func timedRun(_ arguments: [String]) throws -> (firstOutput: Double, total: Double) {
        guard FileManager.default.isExecutableFile(atPath: Paths.cocoon.path) else {
            throw XCTSkip("\(Paths.cocoon.path) is missing; build it with `swift build` (make test does)")
        }
        let process = Process()
        process.executableURL = Paths.cocoon
        process.arguments = arguments
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        let start = Date()
        try process.run()
        var first: Double? = nil
        while true {
            let chunk = err.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            if first == nil { first = Date().timeIntervalSince(start) }
        }
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        let total = Date().timeIntervalSince(start)
        return (first ?? 0, total)
    }

    /// After a kill: every value verifies, and each job's stored items are exactly 0..<next_item
    /// (all views of each), nothing beyond. Returns whether some job was partly written.
    private func checkCommittedPrefix(store path: String, views: Int, counts: (train: Int, val: Int, test: Int)) throws -> Bool {
        guard FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("data.mdb")) else { return false }
        let store: FeatureStore
        do { store = try FeatureStore(path: path) } catch { return false }  // killed before the meta record was committed
        let report = try store.verify()
        XCTAssertTrue(report.ok, "\(report.problems)")
        var partial = false
        for (ext, _) in try store.extractors() {
            for (ds, _) in try store.datasets() {
                for (split, total) in [(Split.train, counts.train), (.val, counts.val), (.test, counts.test)] {
                    let scan = try store.scan(ext: ext, ds: ds, split: split, recipe: try store.recipes().first?.id)
                    guard let job = try store.job(ext: ext, ds: ds, split: split) else {
                        XCTAssertEqual(scan.rows, 0, "\(split): features without a job record")
                        continue
                    }
                    let n = Int(job.nextItem), perItem = split == .train ? views : 1
                    XCTAssertEqual(scan.rows, n * perItem, "\(split): \(scan.rows) rows but next_item \(n)")
                    XCTAssertEqual(scan.items, (0..<n).flatMap { [UInt32](repeating: UInt32($0), count: perItem) })
                    XCTAssertEqual(job.features, scan.rows)
                    if n > 0 && n < total { partial = true }
                }
            }
        }
        return partial
    }
}
