import Foundation
import Hashing
import XCTest
@testable import CLIP
#if canImport(Glibc)
import Glibc
#endif

/// The fingerprint cache (docs/DESIGN.md "Fingerprint"): a cached value is bit-identical to a hashed
/// one, is used only while the weights file's path, size, times, inode and the preprocessing are
/// unchanged, and a bad or unwritable cache only costs a rehash. Whether a load hashed is shown
/// without timing: a marker planted in the entry comes back only when the entry was used.
final class FingerprintCacheTests: XCTestCase {
    private static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/models/tiny-vit")
    private static let environment = ["COCOON_CACHE_DIR", "XDG_CACHE_HOME", "HOME"]
    /// A well-formed fingerprint no real file hashes to.
    private static let marker = String(repeating: "ab", count: 32)

    private var scratch: URL!
    private var savedEnvironment: [String: String?] = [:]
    private var cacheRoot: URL { scratch.appendingPathComponent("cache") }
    private var cache: FingerprintCache { FingerprintCache(directory: cacheRoot.appendingPathComponent("fingerprints")) }

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("fingerprint-cache-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        for name in Self.environment { savedEnvironment[name] = getenv(name).map { String(cString: $0) } }
        setenv("COCOON_CACHE_DIR", cacheRoot.path, 1)
    }

    override func tearDownWithError() throws {
        for (name, value) in savedEnvironment {
            if let value { setenv(name, value, 1) } else { unsetenv(name) }
        }
        _ = try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: cacheRoot.path)
        try? FileManager.default.removeItem(at: scratch)
    }

    // MARK: (a) the cached value is the hashed value

    func testCachedFingerprintEqualsFreshlyComputedOne() throws {
        let dir = try copyFixture()
        let first = try CLIPModelDirectory(url: dir)
        let hashed = first.fingerprint

        // Today's definition, independently: SHA-256(weights bytes ‖ preprocess canonical JSON).
        var hash = SHA256()
        hash.update(try Data(contentsOf: first.weightsURL))
        hash.update(first.preprocess.canonicalJSON)
        XCTAssertEqual(hashed.hex, hexString(hash.finalize()))

        let entry = try entryJSON(first)
        XCTAssertEqual(entry["fingerprint"] as? String, hashed.hex)
        XCTAssertEqual(entry["format"] as? Int, FingerprintCache.format)
        let key = try XCTUnwrap(entry["key"] as? [String: Any])
        let identity = try XCTUnwrap(first.weightsIdentity)
        var s = stat()
        XCTAssertEqual(stat(first.weightsURL.path, &s), 0)
        XCTAssertEqual(key["path"] as? String, first.weightsURL.resolvingSymlinksInPath().path)
        XCTAssertEqual((key["inode"] as? NSNumber)?.uint64Value, UInt64(s.st_ino))
        XCTAssertEqual((key["size"] as? NSNumber)?.int64Value, Int64(s.st_size))
        XCTAssertEqual(identity.mtimeNanoseconds, Int64(s.st_mtim.tv_sec) * 1_000_000_000 + Int64(s.st_mtim.tv_nsec))
        XCTAssertEqual(key["preprocess"] as? String, first.preprocess.canonicalJSON)

        let second = try CLIPModelDirectory(url: dir)
        XCTAssertEqual(second.fingerprint, hashed)
        XCTAssertEqual(second.hashFingerprint(), hashed)
    }

    // MARK: (b) a second load uses the entry, and only while the file is unchanged

    func testSecondLoadReadsTheCacheUntilTheWeightsFileChanges() throws {
        let dir = try copyFixture()
        let real = try CLIPModelDirectory(url: dir).fingerprint
        try plantMarker(dir)
        XCTAssertEqual(try CLIPModelDirectory(url: dir).fingerprint.hex, Self.marker, "the second load hashed instead of reading the cache")

        // The same file through a symbolic link to its directory: same canonical path, same entry.
        let link = scratch.appendingPathComponent("link")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: dir)
        XCTAssertEqual(try CLIPModelDirectory(url: link).fingerprint.hex, Self.marker)

        // A new mtime (same bytes, size and inode): the entry is ignored, the real value is back and re-cached.
        let weights = dir.appendingPathComponent("model.safetensors")
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_600_000_000.5)], ofItemAtPath: weights.path)
        XCTAssertEqual(try CLIPModelDirectory(url: dir).fingerprint, real)
        XCTAssertEqual(try entryJSON(CLIPModelDirectory(url: dir))["fingerprint"] as? String, real.hex)

        // Replaced by a copy (new inode) with the same size and mtime.
        try plantMarker(dir)
        XCTAssertEqual(try CLIPModelDirectory(url: dir).fingerprint.hex, Self.marker)
        let mtime = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: weights.path)[.modificationDate] as? Date)
        let replacement = dir.appendingPathComponent("replacement.tmp")
        try FileManager.default.copyItem(at: weights, to: replacement)
        try FileManager.default.setAttributes([.modificationDate: mtime], ofItemAtPath: replacement.path)
        XCTAssertEqual(rename(replacement.path, weights.path), 0)
        XCTAssertEqual(try CLIPModelDirectory(url: dir).fingerprint, real)

        // Other preprocessing, same weights file: not the cached value (the key holds the preprocessing).
        try plantMarker(dir)
        let config = dir.appendingPathComponent("open_clip_config.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: config)) as! [String: Any]
        var pre = json["preprocess_cfg"] as? [String: Any] ?? [:]
        pre["std"] = [0.25, 0.25, 0.25]
        json["preprocess_cfg"] = pre
        try JSONSerialization.data(withJSONObject: json).write(to: config)
        let reconfigured = try CLIPModelDirectory(url: dir)
        XCTAssertEqual(reconfigured.preprocess.std, [0.25, 0.25, 0.25])
        XCTAssertNotEqual(reconfigured.fingerprint.hex, Self.marker)
        XCTAssertEqual(reconfigured.fingerprint, reconfigured.hashFingerprint())
        XCTAssertNotEqual(reconfigured.fingerprint, real)
    }

    // MARK: (c) malformed entries

    func testMalformedEntriesAreIgnoredAndRewritten() throws {
        let dir = try copyFixture()
        let model = try CLIPModelDirectory(url: dir)
        let real = model.fingerprint
        let url = try entryURL(model)
        let valid = try entryJSON(model)
        let planted = try plantMarker(dir)   // a valid entry: the marker would come back if it were read
        func variant(_ change: (inout [String: Any]) -> Void) throws -> Data {
            var json = valid
            change(&json)
            return try JSONSerialization.data(withJSONObject: json)
        }
        let malformed: [(String, Data)] = [
            ("empty", Data()),
            ("not JSON", Data("{\"format\": 1, \"fingerprint\": ".utf8)),
            ("binary", Data((0..<200).map { UInt8($0) })),
            ("array", Data("[1, 2, 3]".utf8)),
            ("no key", try variant { $0["key"] = nil; $0["fingerprint"] = Self.marker }),
            ("other format", try variant { $0["format"] = 99; $0["fingerprint"] = Self.marker }),
            ("short fingerprint", try variant { $0["fingerprint"] = "abcd" }),
            ("upper-case fingerprint", try variant { $0["fingerprint"] = Self.marker.uppercased() }),
            ("inode as text", try variant { json in
                var key = json["key"] as! [String: Any]
                key["inode"] = "\(key["inode"]!)"
                json["key"] = key
                json["fingerprint"] = Self.marker
            }),
            ("too large", Data(repeating: 0x20, count: 100_000) + Data(planted.utf8)),
        ]
        for (what, data) in malformed {
            try data.write(to: url)
            let reloaded = try CLIPModelDirectory(url: dir)
            XCTAssertEqual(reloaded.fingerprint, real, what)
            XCTAssertEqual(try entryJSON(reloaded)["fingerprint"] as? String, real.hex, "\(what): entry not rewritten")
        }

        // A directory where the entry file should be: ignored, and the fingerprint still right.
        try FileManager.default.removeItem(at: url)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
        XCTAssertEqual(try CLIPModelDirectory(url: dir).fingerprint, real)
    }

    // MARK: (d) a cache that cannot be written

    func testUnwritableOrMissingCacheDirectoryStillGivesTheFingerprint() throws {
        let dir = try copyFixture()
        let real = try CLIPModelDirectory(url: dir).hashFingerprint()

        // A regular file where the cache directory should be (unwritable even for root).
        let blocker = scratch.appendingPathComponent("blocker")
        try Data("not a directory".utf8).write(to: blocker)
        setenv("COCOON_CACHE_DIR", blocker.path, 1)
        XCTAssertEqual(try CLIPModelDirectory(url: dir).fingerprint, real)
        XCTAssertEqual(try CLIPModelDirectory(url: dir).verifyFingerprint().cacheRefreshed, false)
        setenv("COCOON_CACHE_DIR", blocker.appendingPathComponent("below").path, 1)
        XCTAssertEqual(try CLIPModelDirectory(url: dir).fingerprint, real)

        // A read-only directory (effective when not running as root).
        try FileManager.default.createDirectory(at: cacheRoot, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: cacheRoot.path)
        setenv("COCOON_CACHE_DIR", cacheRoot.path, 1)
        XCTAssertEqual(try CLIPModelDirectory(url: dir).fingerprint, real)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: cacheRoot.path)

        // A directory that does not exist yet is created.
        let nested = scratch.appendingPathComponent("a/b/c")
        setenv("COCOON_CACHE_DIR", nested.path, 1)
        XCTAssertEqual(try CLIPModelDirectory(url: dir).fingerprint, real)
        XCTAssertTrue(FileManager.default.fileExists(atPath: nested.appendingPathComponent("fingerprints").path))

        // No variable at all and no HOME: no cache, still the fingerprint.
        unsetenv("COCOON_CACHE_DIR"); unsetenv("XDG_CACHE_HOME"); unsetenv("HOME")
        XCTAssertNil(FingerprintCache.fromEnvironment())
        XCTAssertEqual(try CLIPModelDirectory(url: dir).fingerprint, real)
    }

    // MARK: Verification, locations, pruning

    func testVerifyReportsAStaleEntryAndRefreshesIt() throws {
        let dir = try copyFixture()
        let fresh = try CLIPModelDirectory(url: dir).verifyFingerprint()   // no entry yet
        XCTAssertNil(fresh.cached)
        XCTAssertFalse(fresh.isMismatch)
        XCTAssertTrue(fresh.cacheRefreshed)
        let real = fresh.computed

        let matching = try CLIPModelDirectory(url: dir).verifyFingerprint()
        XCTAssertEqual(matching.cached, real)
        XCTAssertFalse(matching.isMismatch)

        try plantMarker(dir)
        let model = try CLIPModelDirectory(url: dir)
        let stale = model.verifyFingerprint()
        XCTAssertEqual(stale.cached?.hex, Self.marker)
        XCTAssertEqual(stale.computed, real)
        XCTAssertTrue(stale.isMismatch)
        XCTAssertTrue(stale.cacheRefreshed)
        XCTAssertEqual(stale.cacheFile, try entryURL(model))
        XCTAssertEqual(model.fingerprint, real, "the verified value replaces the stale one")
        XCTAssertEqual(try CLIPModelDirectory(url: dir).fingerprint, real)
    }

    func testEveryKeyFieldMustMatch() throws {
        let id = WeightsFileIdentity(path: "/models/m/model.safetensors", device: 2049, inode: 1 << 40, size: 605_000_000,
                                     mtimeNanoseconds: 1_733_140_000_123_456_789, ctimeNanoseconds: 1_733_140_001_987_654_321)
        let pre = PreprocessConfig(imageSize: 224).canonicalJSON
        let value = ModelFingerprint(hex: Self.marker)
        XCTAssertTrue(cache.store(value, for: id, preprocess: pre))
        XCTAssertEqual(cache.lookup(id, preprocess: pre), value)   // 19-digit nanoseconds survive the JSON exactly
        func changed(_ edit: (inout (String, UInt64, UInt64, Int64, Int64, Int64)) -> Void) -> WeightsFileIdentity {
            var f = (id.path, id.device, id.inode, id.size, id.mtimeNanoseconds, id.ctimeNanoseconds)
            edit(&f)
            return WeightsFileIdentity(path: f.0, device: f.1, inode: f.2, size: f.3, mtimeNanoseconds: f.4, ctimeNanoseconds: f.5)
        }
        let others: [(String, WeightsFileIdentity)] = [
            ("device", changed { $0.1 += 1 }), ("inode", changed { $0.2 += 1 }), ("size", changed { $0.3 += 1 }),
            ("mtime", changed { $0.4 += 1 }), ("ctime", changed { $0.5 += 1 }),
        ]
        for (field, other) in others { XCTAssertNil(cache.lookup(other, preprocess: pre), field) }
        XCTAssertNil(cache.lookup(id, preprocess: PreprocessConfig(imageSize: 336).canonicalJSON), "preprocess")
        // Another path has another entry file; an entry copied there still names the first path.
        let moved = changed { $0.0 = "/models/n/model.safetensors" }
        try FileManager.default.copyItem(at: cache.entryURL(forCanonicalPath: id.path), to: cache.entryURL(forCanonicalPath: moved.path))
        XCTAssertNil(cache.lookup(moved, preprocess: pre), "path")
    }

    func testCacheLocationFollowsTheEnvironment() throws {
        setenv("COCOON_CACHE_DIR", "/x/cocoon-cache", 1); setenv("XDG_CACHE_HOME", "/y", 1); setenv("HOME", "/z", 1)
        XCTAssertEqual(FingerprintCache.fromEnvironment()?.directory.path, "/x/cocoon-cache/fingerprints")
        unsetenv("COCOON_CACHE_DIR")
        XCTAssertEqual(FingerprintCache.fromEnvironment()?.directory.path, "/y/cocoon/fingerprints")
        setenv("XDG_CACHE_HOME", "relative", 1)   // ignored, as the XDG spec says
        XCTAssertEqual(FingerprintCache.fromEnvironment()?.directory.path, "/z/.cache/cocoon/fingerprints")
        setenv("XDG_CACHE_HOME", "", 1)
        XCTAssertEqual(FingerprintCache.fromEnvironment()?.directory.path, "/z/.cache/cocoon/fingerprints")

        let name = FingerprintCache(directory: URL(fileURLWithPath: "/c")).entryURL(forCanonicalPath: "/models/m/model.safetensors").lastPathComponent
        XCTAssertEqual(name, String(hexString(SHA256.digest(Array("/models/m/model.safetensors".utf8))).prefix(32)) + ".json")
    }

    func testEntriesOfDeletedWeightsArePrunedOnWrite() throws {
        let gone = try copyFixture()
        let goneEntry = try XCTUnwrap(try CLIPModelDirectory(url: gone).verifyFingerprint().cacheFile)
        let foreign = cache.directory.appendingPathComponent("notes.json")
        try Data("{}".utf8).write(to: foreign)
        try FileManager.default.removeItem(at: gone)
        XCTAssertTrue(FileManager.default.fileExists(atPath: goneEntry.path))

        let kept = try copyFixture()
        _ = try CLIPModelDirectory(url: kept).fingerprint   // writes its entry, prunes the other
        XCTAssertFalse(FileManager.default.fileExists(atPath: goneEntry.path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: foreign.path), "files not named like entries are left alone")
        let names = try FileManager.default.contentsOfDirectory(atPath: cache.directory.path)
        XCTAssertEqual(Set(names), [try entryURL(CLIPModelDirectory(url: kept)).lastPathComponent, "notes.json"])
    }

    // MARK: Helpers

    private func copyFixture() throws -> URL {
        let dir = scratch.appendingPathComponent("tiny-vit-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Self.fixture, to: dir)
        return dir
    }

    private func entryURL(_ model: CLIPModelDirectory) throws -> URL {
        cache.entryURL(forCanonicalPath: try XCTUnwrap(model.weightsIdentity).path)
    }

    private func entryJSON(_ model: CLIPModelDirectory) throws -> [String: Any] {
        let data = try Data(contentsOf: try entryURL(model))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// Loads `dir` (caching its fingerprint if needed) and replaces the entry's fingerprint by the
    /// marker, keeping every key field byte for byte (a text edit: no number goes through a Double).
    @discardableResult
    private func plantMarker(_ dir: URL) throws -> String {
        let model = try CLIPModelDirectory(url: dir)
        let hex = model.hashFingerprint().hex
        XCTAssertEqual(model.fingerprint.hex, hex)
        let url = try entryURL(model)
        let text = try String(contentsOf: url, encoding: .utf8)
        XCTAssertTrue(text.contains("\"\(hex)\""), "entry lacks the fingerprint: \(text)")
        let planted = text.replacingOccurrences(of: "\"\(hex)\"", with: "\"\(Self.marker)\"")
        try planted.write(to: url, atomically: false, encoding: .utf8)
        return planted
    }
}
