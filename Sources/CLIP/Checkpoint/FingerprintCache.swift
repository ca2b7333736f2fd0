import Foundation
import Hashing
#if canImport(Glibc)
import Glibc
#endif

/// A weights file as `stat` sees it: canonical path, device, inode, size, and modification and
/// status-change times in nanoseconds. A cached fingerprint is reused only while all of these are
/// unchanged (docs/DESIGN.md "Fingerprint"): replacing the file (new inode), rewriting it (new
/// mtime and ctime) or resizing it makes the next load hash the bytes again.
public struct WeightsFileIdentity: Equatable, Sendable {
    /// `realpath` of the file (symbolic links resolved).
    public let path: String
    public let device: UInt64
    public let inode: UInt64
    public let size: Int64
    public let mtimeNanoseconds: Int64
    public let ctimeNanoseconds: Int64

    /// The identity of the regular file at `url` now; nil when it cannot be resolved or stat'ed.
    public static func current(of url: URL) -> WeightsFileIdentity? {
        guard let resolved = realpath(url.path, nil) else { return nil }
        let path = String(cString: resolved)
        free(resolved)
        var s = stat()
        guard stat(path, &s) == 0, s.st_mode & S_IFMT == S_IFREG else { return nil }
        func nanoseconds(_ t: timespec) -> Int64 { Int64(t.tv_sec) &* 1_000_000_000 &+ Int64(t.tv_nsec) }
        return WeightsFileIdentity(path: path, device: UInt64(s.st_dev), inode: UInt64(s.st_ino), size: Int64(s.st_size),
                                   mtimeNanoseconds: nanoseconds(s.st_mtim), ctimeNanoseconds: nanoseconds(s.st_ctim))
    }
}

/// Fingerprints already computed, one small JSON file per weights file in
/// `$COCOON_CACHE_DIR/fingerprints/` (else `$XDG_CACHE_HOME/cocoon/fingerprints/`, else
/// `~/.cache/cocoon/fingerprints/`), named by the SHA-256 of the file's canonical path. An entry is
/// used only when its key — the `WeightsFileIdentity` fields and the preprocessing canonical JSON,
/// i.e. everything the fingerprint hashes — equals the current one; any unreadable, malformed or
/// mismatching entry is ignored and overwritten. Every failure (no home, read-only or missing
/// directory) only means hashing again: the cache never fails a command.
public struct FingerprintCache: Sendable {
    /// Version of the entry layout; entries of another version are ignored (and overwritten).
    public static let format = 1
    /// Entries larger than this are not read (they are not ours).
    static let maximumEntryBytes = 64 * 1024

    /// The `fingerprints` directory.
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    /// The cache the environment names (see the type's description); nil when no directory can be
    /// derived (no `COCOON_CACHE_DIR`, `XDG_CACHE_HOME` or `HOME`).
    public static func fromEnvironment() -> FingerprintCache? {
        func variable(_ name: String) -> String? {
            guard let value = getenv(name) else { return nil }
            let s = String(cString: value)
            return s.isEmpty ? nil : s
        }
        let root: URL
        if let dir = variable("COCOON_CACHE_DIR") {
            root = URL(fileURLWithPath: dir, isDirectory: true)
        } else if let xdg = variable("XDG_CACHE_HOME"), xdg.hasPrefix("/") {   // the XDG spec ignores relative paths
            root = URL(fileURLWithPath: xdg, isDirectory: true).appendingPathComponent("cocoon", isDirectory: true)
        } else if let home = variable("HOME") {
            root = URL(fileURLWithPath: home, isDirectory: true).appendingPathComponent(".cache/cocoon", isDirectory: true)
        } else {
            return nil
        }
        return FingerprintCache(directory: root.appendingPathComponent("fingerprints", isDirectory: true))
    }

    /// The entry file of the weights file at canonical `path`: 32 hex digits of SHA-256(path) + `.json`.
    public func entryURL(forCanonicalPath path: String) -> URL {
        directory.appendingPathComponent(String(hexString(SHA256.digest(Array(path.utf8))).prefix(32)) + ".json")
    }

    /// The cached fingerprint of the file `identity` names, hashed with `preprocess` (canonical JSON);
    /// nil unless the entry exists, parses and every key field equals the current one.
    public func lookup(_ identity: WeightsFileIdentity, preprocess: String) -> ModelFingerprint? {
        guard let entry = Self.read(entryURL(forCanonicalPath: identity.path)),
              entry.format == Self.format, entry.key == Entry.Key(identity, preprocess: preprocess),
              Self.isFingerprintHex(entry.fingerprint) else { return nil }
        return ModelFingerprint(hex: entry.fingerprint)
    }

    /// Writes (atomically: temporary file, then rename) the entry for `identity`; returns whether it
    /// was written. Entries of weights files that no longer exist are removed on the way.
    @discardableResult
    public func store(_ fingerprint: ModelFingerprint, for identity: WeightsFileIdentity, preprocess: String) -> Bool {
        let entry = Entry(format: Self.format, key: Entry.Key(identity, preprocess: preprocess), fingerprint: fingerprint.hex)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard var data = try? encoder.encode(entry) else { return false }
        data.append(0x0a)
        let fm = FileManager.default
        guard (try? fm.createDirectory(at: directory, withIntermediateDirectories: true)) != nil else { return false }
        let target = entryURL(forCanonicalPath: identity.path)
        let temporary = directory.appendingPathComponent(".\(target.lastPathComponent).\(getpid()).\(UInt32.random(in: 0 ... .max)).tmp")
        guard (try? data.write(to: temporary, options: .withoutOverwriting)) != nil else {
            unlink(temporary.path)
            return false
        }
        guard rename(temporary.path, target.path) == 0 else {
            unlink(temporary.path)
            return false
        }
        prune(keeping: target.lastPathComponent)
        return true
    }

    /// Removes the entries (ours only: `<32 hex>.json`) whose weights file is gone, so moved or
    /// deleted models (and test scratch copies) do not accumulate.
    private func prune(keeping kept: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        for name in names where name != kept && Self.isEntryName(name) {
            let url = directory.appendingPathComponent(name)
            guard let entry = Self.read(url) else { continue }
            var s = stat()
            if stat(entry.key.path, &s) != 0, errno == ENOENT || errno == ENOTDIR { unlink(url.path) }
        }
    }

    /// The decoded entry at `url`; nil when it is missing, too large or not an entry.
    static func read(_ url: URL) -> Entry? {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: maximumEntryBytes + 1), data.count <= maximumEntryBytes else { return nil }
        return try? JSONDecoder().decode(Entry.self, from: data)
    }

    static func isFingerprintHex(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    static func isEntryName(_ name: String) -> Bool {
        guard name.hasSuffix(".json") else { return false }
        let stem = name.utf8.dropLast(5)
        return stem.count == 32 && stem.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// One cache file.
    struct Entry: Codable, Equatable {
        /// Everything the fingerprint depends on, as last seen.
        struct Key: Codable, Equatable {
            var path: String
            var device: UInt64
            var inode: UInt64
            var size: Int64
            var mtimeNanoseconds: Int64
            var ctimeNanoseconds: Int64
            /// `PreprocessConfig.canonicalJSON`, hashed after the weights.
            var preprocess: String

            init(_ id: WeightsFileIdentity, preprocess: String) {
                path = id.path; device = id.device; inode = id.inode; size = id.size
                mtimeNanoseconds = id.mtimeNanoseconds; ctimeNanoseconds = id.ctimeNanoseconds
                self.preprocess = preprocess
            }

            enum CodingKeys: String, CodingKey {
                case path, device, inode, size, preprocess
                case mtimeNanoseconds = "mtime_ns", ctimeNanoseconds = "ctime_ns"
            }
        }

        var format: Int
        var key: Key
        /// 64 lower-case hex digits.
        var fingerprint: String
    }
}
