import DatasetNames
import Datasets
import FeatureCache
import Foundation
import Hashing

/// Registers a dataset in a store: every item of every split (item id = position in the split's
/// manifest order) with its file size and SHA-256, so the dataset id pins the images' bytes and
/// `cocoon store verify --files` can re-check them. Every shard registers the whole manifest, so
/// shard stores agree on ids and merge key-wise. Used by `Indexer`.
public enum DatasetRegistration {
    /// Size and SHA-256 of every item's file (missing or unreadable files: size 0, no hash; the
    /// indexer then records the item as a failure), hashed on `threads` threads, each file once.
    public static func itemRecords(_ dataset: Dataset, threads: Int) -> [Split: [ItemRecord]] {
        var paths: [String] = []
        var seen: Set<String> = []
        for split in Split.allCases {
            for item in dataset.indexedItems(split) where seen.insert(item.path).inserted { paths.append(item.path) }
        }
        let fingerprints = UnsafeMutableBufferPointer<FileFingerprint?>.allocate(capacity: max(paths.count, 1))
        fingerprints.initialize(repeating: nil)
        defer { fingerprints.deallocate() }
        let base = fingerprints.baseAddress!
        let workers = max(1, min(threads, paths.count))
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var i = w
            while i < paths.count {
                base[i] = FileFingerprint(url: dataset.imageRoot.appendingPathComponent(paths[i]))
                i += workers
            }
        }
        var byPath: [String: FileFingerprint?] = [:]
        for (i, path) in paths.enumerated() { byPath[path] = fingerprints[i] }
        var out: [Split: [ItemRecord]] = [:]
        for split in Split.allCases {
            out[split] = dataset.indexedItems(split).map { item in
                let f = byPath[item.path] ?? nil
                return ItemRecord(relativePath: item.path, label: Int32(item.label), fileSize: f?.size ?? 0, sha256: f?.sha256)
            }
        }
        return out
    }

    /// Registers `dataset` (idempotent) and returns its record.
    public static func register(_ dataset: Dataset, in store: FeatureStore, threads: Int) throws -> DatasetRecord {
        try store.registerDataset(name: dataset.name, classnames: dataset.classnames,
                                  items: itemRecords(dataset, threads: threads))
    }
}

/// A file's size and SHA-256, read in 1 MiB chunks; nil when the file cannot be read.
public struct FileFingerprint: Equatable {
    public var size: UInt64
    public var sha256: [UInt8]

    public init?(url: URL) {
        guard let handle = FileHandle(forReadingAtPath: url.path) else { return nil }
        defer { try? handle.close() }
        var hash = SHA256()
        var total: UInt64 = 0
        while true {
            let next: Data?
            do { next = try handle.read(upToCount: 1 << 20) } catch { return nil }
            guard let chunk = next, !chunk.isEmpty else { break }  // nil or empty: end of file
            chunk.withUnsafeBytes { hash.update($0.baseAddress!, count: $0.count) }
            total += UInt64(chunk.count)
        }
        size = total
        sha256 = hash.finalize()
    }
}
