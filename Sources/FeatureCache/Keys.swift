import DatasetNames

/// An 8-byte content id: the first 8 bytes of SHA-256 over a record's canonical JSON.
/// Content-derived, so shards built on different machines agree without remapping. `Kind` only
/// keeps extractor and dataset ids from being mixed up.
public struct ContentID<Kind>: Hashable, Comparable, CustomStringConvertible {
    public let raw: UInt64
    public init(raw: UInt64) { self.raw = raw }
    /// Parses the 16-hex-digit spelling (`description`), e.g. from a command line.
    public init?(hex: String) {
        guard hex.utf8.count == 16, let raw = UInt64(hex, radix: 16) else { return nil }
        self.raw = raw
    }
    public var description: String { hex64(raw) }
    public static func < (a: Self, b: Self) -> Bool { a.raw < b.raw }
}

/// An augmentation recipe id: the first 4 bytes of SHA-256 over the recipe record (`RecipeRecord`),
/// big-endian; 0 is the eval transform (view 0), which no recipe hashes to.
public struct RecipeID: Hashable, Comparable, CustomStringConvertible {
    public let raw: UInt32
    public init(raw: UInt32) { self.raw = raw }
    /// The eval transform's "recipe": view 0 of every item.
    public static let eval = RecipeID(raw: 0)
    /// Parses the 8-hex-digit spelling (`description`), e.g. from `--recipe`.
    public init?(hex: String) {
        guard hex.utf8.count == 8, let raw = UInt32(hex, radix: 16) else { return nil }
        self.raw = raw
    }
    public var description: String { let s = String(raw, radix: 16); return String(repeating: "0", count: 8 - s.count) + s }
    public static func < (a: Self, b: Self) -> Bool { a.raw < b.raw }
}

/// Which stored view a feature row is: view 0 with `RecipeID.eval`, or augmented view 1…K of a recipe.
public struct ViewKey: Hashable, Comparable {
    public var recipe: RecipeID
    public var view: UInt16
    public init(recipe: RecipeID, view: UInt16) { self.recipe = recipe; self.view = view }
    public static let eval = ViewKey(recipe: .eval, view: 0)
    public static func < (a: Self, b: Self) -> Bool { (a.recipe, a.view) < (b.recipe, b.view) }
}

/// Tags of the two kinds of content id.
public enum ExtractorKind {}
public enum DatasetKind {}

/// An extractor id (over the extractor record).
public typealias ExtractorID = ContentID<ExtractorKind>
/// A dataset id (over the dataset record).
public typealias DatasetID = ContentID<DatasetKind>

func hex64(_ x: UInt64) -> String {
    let s = String(x, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}

/// First 8 bytes of a digest as a big-endian integer.
func id64(_ digest: [UInt8]) -> UInt64 {
    var x: UInt64 = 0
    for i in 0..<8 { x = x << 8 | UInt64(digest[i]) }
    return x
}

/// Big-endian key layouts (cache-schema/SCHEMA.md, "Keys"). Big-endian so that byte order is
/// numeric order: one (ext, ds, split) prefix is one contiguous range, items then their views
/// (view 0 first, then each recipe's views).
enum StoreKey {
    /// `feat` key length: ver u8 | ext u64 | ds u64 | split u8 | item u32 | recipe u32 | view u16.
    static let featureLength = 28
    /// Offsets of the item, recipe and view fields in a `feat` key.
    static let itemOffset = 18, recipeOffset = 22, viewOffset = 26
    /// (ver, ext, ds, split) prefix of `feat` and `failures` keys; also the `jobs` key.
    static let groupLength = 18

    static func appendBE<T: FixedWidthInteger>(_ x: T, to out: inout [UInt8]) {
        var be = x.bigEndian
        withUnsafeBytes(of: &be) { out.append(contentsOf: $0) }
    }

    static func readBE<T: FixedWidthInteger>(_ p: UnsafeRawBufferPointer, at offset: Int, as: T.Type) -> T {
        T(bigEndian: p.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// ver | ext | ds | split: the range of one model × dataset × split.
    static func group(_ ext: ExtractorID, _ ds: DatasetID, _ split: Split) -> [UInt8] {
        var k: [UInt8] = [StoreSchema.keyVersion]
        k.reserveCapacity(featureLength)
        appendBE(ext.raw, to: &k)
        appendBE(ds.raw, to: &k)
        k.append(split.rawValue)
        return k
    }

    static func feature(_ ext: ExtractorID, _ ds: DatasetID, _ split: Split, item: UInt32, view: ViewKey) -> [UInt8] {
        var k = group(ext, ds, split)
        appendBE(item, to: &k)
        appendBE(view.recipe.raw, to: &k)
        appendBE(view.view, to: &k)
        return k
    }

    /// The (recipe, view) of a `feat` key.
    static func viewKey(_ k: UnsafeRawBufferPointer) -> ViewKey {
        ViewKey(recipe: RecipeID(raw: readBE(k, at: recipeOffset, as: UInt32.self)), view: readBE(k, at: viewOffset, as: UInt16.self))
    }

    static func recipe(_ id: RecipeID) -> [UInt8] { var k: [UInt8] = []; appendBE(id.raw, to: &k); return k }

    /// `failures` key: the group followed by the item (22 bytes).
    static func failure(_ ext: ExtractorID, _ ds: DatasetID, _ split: Split, item: UInt32) -> [UInt8] {
        var k = group(ext, ds, split)
        appendBE(item, to: &k)
        return k
    }

    /// `items` key prefix: ds | split (9 bytes); the full key appends the item u32.
    static func itemGroup(_ ds: DatasetID, _ split: Split) -> [UInt8] {
        var k: [UInt8] = []
        appendBE(ds.raw, to: &k)
        k.append(split.rawValue)
        return k
    }

    static func item(_ ds: DatasetID, _ split: Split, _ item: UInt32) -> [UInt8] {
        var k = itemGroup(ds, split)
        appendBE(item, to: &k)
        return k
    }

    /// `subsets` key: ds | split | name (UTF-8).
    static func subset(_ ds: DatasetID, _ split: Split, _ name: String) -> [UInt8] {
        itemGroup(ds, split) + Array(name.utf8)
    }

    static func extractor(_ id: ExtractorID) -> [UInt8] { var k: [UInt8] = []; appendBE(id.raw, to: &k); return k }
    static func dataset(_ id: DatasetID) -> [UInt8] { var k: [UInt8] = []; appendBE(id.raw, to: &k); return k }
}
