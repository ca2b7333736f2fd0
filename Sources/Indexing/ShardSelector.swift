import Hashing

/// `--shard i/n`: the items whose key (relative path) hashes to bucket i of n, where the bucket is
/// the first 8 bytes of SHA-256 of the key's UTF-8, big-endian, mod n. Stable across machines and
/// runs, so n indexers on n machines split any dataset without coordination; each writes its own
/// store and `cocoon store merge` unions them. Used by `Indexer`.
public struct ShardSelector: Equatable, Sendable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    /// Every item (shard 0/1).
    public static let all = ShardSelector(uncheckedIndex: 0, count: 1)

    private init(uncheckedIndex: Int, count: Int) {
        self.index = uncheckedIndex
        self.count = count
    }

    public init(index: Int, count: Int) throws {
        guard count >= 1, index >= 0, index < count else {
            throw IndexingError("--shard \(index)/\(count): need 0 <= i < n, e.g. --shard 0/4 … --shard 3/4")
        }
        self.init(uncheckedIndex: index, count: count)
    }

    /// Parses "i/n".
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw IndexingError("--shard '\(text)': expected i/n such as 0/4")
        }
        try self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// The bucket of `key` among `count` shards.
    public static func bucket(of key: String, count: Int) -> Int {
        let digest = SHA256.digest(Array(key.utf8))
        var x: UInt64 = 0
        for i in 0..<8 { x = x << 8 | UInt64(digest[i]) }
        return Int(x % UInt64(count))
    }

    public func contains(key: String) -> Bool {
        count == 1 || ShardSelector.bucket(of: key, count: count) == index
    }
}
