import DatasetNames
import Foundation
import Hashing

/// What computes view 0 of a set of features: the model (by user-visible name and fingerprint)
/// and its eval preprocessing. One model + one preprocessing = one extractor, however many
/// augmentation recipes hang under it (`RecipeRecord`). Keyed in `extractors` by `id`, a hash of
/// the whole record, so features of two different extractors never share keys. `cocoon index`
/// registers one; every command that reads features finds it through `FeatureStore.lookup`.
public struct ExtractorRecord: Equatable {
    /// User-visible model name (model directory name or `--name`); indexed in `models`.
    public var modelName: String
    /// Hex SHA-256 of the weight bytes plus the preprocessing config (docs/DESIGN.md "Fingerprint").
    public var modelFingerprint: String
    public var architecture: String
    public var embedDim: Int
    /// Human-readable, exact description of decode + resize + crop + normalisation.
    public var preprocessing: String
    public var codeVersion: String
    /// Arithmetic of the image tower's weight products: nil for FP32 (the field is absent, so FP32
    /// ids are those of earlier versions), "bf16" for `--precision bf16`. Part of the id, so BF16
    /// features never share an extractor with FP32 ones.
    public var precision: String?

    public init(modelName: String, modelFingerprint: String, architecture: String, embedDim: Int,
                preprocessing: String, codeVersion: String = StoreSchema.creator, precision: String? = nil) {
        self.modelName = modelName
        self.modelFingerprint = modelFingerprint
        self.architecture = architecture
        self.embedDim = embedDim
        self.preprocessing = preprocessing
        self.codeVersion = codeVersion
        self.precision = precision
    }

    var json: JSON {
        var fields: [String: JSON] = [
            "model_name": .string(modelName),
            "model_fingerprint": .string(modelFingerprint),
            "architecture": .string(architecture),
            "embed_dim": .int(embedDim),
            "preprocessing": .string(preprocessing),
            "code_version": .string(codeVersion),
        ]
        if let precision { fields["precision"] = .string(precision) }
        return .object(fields)
    }

    init(json: JSON, what: String) throws {
        let f = JSONFields(json: json, what: what)
        self.init(modelName: try f.string("model_name"), modelFingerprint: try f.string("model_fingerprint"),
                  architecture: try f.string("architecture"), embedDim: try f.int("embed_dim"),
                  preprocessing: try f.string("preprocessing"), codeVersion: try f.string("code_version"),
                  precision: json["precision"] == nil ? nil : try f.string("precision"))
    }

    /// First 8 bytes of SHA-256 of the canonical JSON.
    public var id: ExtractorID { ExtractorID(raw: id64(SHA256.digest(json.canonical))) }
}

/// An augmentation recipe: the policy of views 1…K and the seed their per-view seeds derive from
/// (each view's seed hashes the recipe seed, the item's path and the view index, so view v of an
/// item is the same whenever it is computed). Keyed in `recipes` by `id`; views carry it in their
/// key, so any number of recipes and view counts live under one extractor.
public struct RecipeRecord: Equatable {
    public var policy: String
    public var seed: Int

    public init(policy: String, seed: Int) { self.policy = policy; self.seed = seed }

    var json: JSON { .object(["policy": .string(policy), "seed": .int(seed)]) }

    init(json: JSON, what: String) throws {
        let f = JSONFields(json: json, what: what)
        self.init(policy: try f.string("policy"), seed: try f.int("seed"))
    }

    /// First 4 bytes of SHA-256 of the canonical JSON (1 where they are 0, which means view 0).
    public var id: RecipeID {
        let raw = UInt32(truncatingIfNeeded: id64(SHA256.digest(json.canonical)) >> 32)
        return RecipeID(raw: raw == 0 ? 1 : raw)
    }
}

/// A dataset as indexed: class names, item counts per split and the manifest hash. Keyed in
/// `datasets` by `id` (hash of the record); its items live in `items`.
public struct DatasetRecord: Equatable {
    public var name: String
    public var classnames: [String]
    /// Item count per split name ("train", "val", "test"); splits without items are absent.
    public var splitCounts: [String: Int]
    /// Hex SHA-256 of the manifest (`DatasetRecord.manifestSHA256`).
    public var manifestSHA256: String

    public init(name: String, classnames: [String], splitCounts: [String: Int], manifestSHA256: String) {
        self.name = name
        self.classnames = classnames
        self.splitCounts = splitCounts
        self.manifestSHA256 = manifestSHA256
    }

    var json: JSON {
        .object([
            "name": .string(name),
            "classnames": .array(classnames.map { .string($0) }),
            "splits": .object(splitCounts.mapValues { .int($0) }),
            "manifest_sha256": .string(manifestSHA256),
        ])
    }

    init(json: JSON, what: String) throws {
        let f = JSONFields(json: json, what: what)
        guard case .object(let splits)? = json["splits"] else {
            throw StoreError("\(what): field 'splits' missing; the store is damaged, run `cocoon store verify`")
        }
        var counts: [String: Int] = [:]
        for (k, v) in splits { counts[k] = v.int ?? 0 }
        self.init(name: try f.string("name"), classnames: try f.strings("classnames"), splitCounts: counts,
                  manifestSHA256: try f.string("manifest_sha256"))
    }

    public var id: DatasetID { DatasetID(raw: id64(SHA256.digest(json.canonical))) }

    /// SHA-256 over one line per item, splits in split-byte order, items in id order:
    /// `<split>\t<item>\t<label>\t<size>\t<sha256 hex or ->\t<relative path>\n`.
    public static func manifestSHA256(_ items: [Split: [ItemRecord]]) -> String {
        var h = SHA256()
        for split in Split.allCases {
            for (i, item) in (items[split] ?? []).enumerated() {
                let sha = item.sha256.map { hexString($0) } ?? "-"
                h.update("\(split)\t\(i)\t\(item.label)\t\(item.fileSize)\t\(sha)\t\(item.relativePath)\n")
            }
        }
        return hexString(h.finalize())
    }
}

/// One image of a dataset split: path relative to the dataset root, class label, file size and
/// optional content hash. Its item id is its index in the sorted manifest. Stored binary in
/// `items`: label i32 | size u64 | has_sha u8 | sha256 [32] | path UTF-8 (all little-endian).
public struct ItemRecord: Equatable {
    public var relativePath: String
    public var label: Int32
    public var fileSize: UInt64
    public var sha256: [UInt8]?

    public init(relativePath: String, label: Int32, fileSize: UInt64, sha256: [UInt8]? = nil) {
        self.relativePath = relativePath
        self.label = label
        self.fileSize = fileSize
        self.sha256 = sha256
    }

    static let fixedBytes = 45

    var encoded: [UInt8] {
        var out = [UInt8](repeating: 0, count: ItemRecord.fixedBytes)
        out.withUnsafeMutableBytes { p in
            p.storeBytes(of: label.littleEndian, toByteOffset: 0, as: Int32.self)
            p.storeBytes(of: fileSize.littleEndian, toByteOffset: 4, as: UInt64.self)
        }
        if let sha = sha256 {
            out[12] = 1
            out.replaceSubrange(13..<45, with: sha)
        }
        return out + Array(relativePath.utf8)
    }

    init?(_ v: UnsafeRawBufferPointer) {
        guard v.count >= ItemRecord.fixedBytes, v[12] <= 1 else { return nil }
        label = Int32(littleEndian: v.loadUnaligned(fromByteOffset: 0, as: Int32.self))
        fileSize = UInt64(littleEndian: v.loadUnaligned(fromByteOffset: 4, as: UInt64.self))
        sha256 = v[12] == 1 ? Array(v[13..<45]) : nil
        relativePath = String(decoding: v[45...], as: UTF8.self)
    }

    /// The label alone (scans read only this).
    static func label(_ v: UnsafeRawBufferPointer) -> Int32? {
        v.count >= fixedBytes ? Int32(littleEndian: v.loadUnaligned(fromByteOffset: 0, as: Int32.self)) : nil
    }
}

/// An item the indexer could not process (e.g. a corrupt image), with the error text; stored in
/// `failures` instead of halting the job, and deleted when a later run indexes the item.
public struct FailureRecord: Equatable {
    public var item: UInt32
    public var error: String
    public var unixTime: Int
}

/// Progress of one indexing job (one extractor × dataset × split in one store), committed in the
/// same transaction as the features it accounts for, so it never claims more than is stored.
public struct JobRecord: Equatable {
    public var ext: ExtractorID
    public var ds: DatasetID
    public var split: Split
    /// The recipe of the augmented views the run wrote (nil: view 0 only) and their count K.
    public var recipe: RecipeID?
    public var augmentedViews: Int
    /// First item id after the last one this run committed (where its progress stands).
    public var nextItem: UInt32
    /// Hex of the last committed `feat` key ("" before the first commit).
    public var lastKey: String
    /// Features and failures written by every run of this group.
    public var features: Int
    public var failures: Int
    /// "running" or "complete".
    public var status: String
    public var host: String
    public var pid: Int
    public var updatedUnix: Int

    var json: JSON {
        .object([
            "ext_id": .string(ext.description), "ds_id": .string(ds.description), "split": .string(split.description),
            "recipe": .string(recipe?.description ?? ""), "augmented_views": .int(augmentedViews),
            "next_item": .int(Int(nextItem)), "last_key": .string(lastKey),
            "features": .int(features), "failures": .int(failures), "status": .string(status),
            "host": .string(host), "pid": .int(pid), "updated_unix": .int(updatedUnix),
        ])
    }

    init(ext: ExtractorID, ds: DatasetID, split: Split, recipe: RecipeID?, augmentedViews: Int) {
        self.ext = ext; self.ds = ds; self.split = split; self.recipe = recipe; self.augmentedViews = augmentedViews
        nextItem = 0; lastKey = ""; features = 0; failures = 0; status = "running"
        host = ProcessInfo.processInfo.hostName; pid = Int(getpid()); updatedUnix = Int(Date().timeIntervalSince1970)
    }

    init(json: JSON, ext: ExtractorID, ds: DatasetID, split: Split, what: String) throws {
        let f = JSONFields(json: json, what: what)
        let recipe = try f.string("recipe")
        self.init(ext: ext, ds: ds, split: split, recipe: recipe.isEmpty ? nil : RecipeID(hex: recipe),
                  augmentedViews: try f.int("augmented_views"))
        nextItem = UInt32(clamping: try f.int("next_item"))
        lastKey = try f.string("last_key")
        features = try f.int("features")
        failures = try f.int("failures")
        status = try f.string("status")
        host = try f.string("host")
        pid = try f.int("pid")
        updatedUnix = try f.int("updated_unix")
    }
}

/// The `models` index: user-visible model name → the fingerprint first registered under it.
/// Lets the store refuse a model whose weights changed but whose name did not.
struct ModelRecord {
    var name: String
    var fingerprint: String
    var architecture: String
    var embedDim: Int

    var json: JSON {
        .object(["model_name": .string(name), "model_fingerprint": .string(fingerprint),
                 "architecture": .string(architecture), "embed_dim": .int(embedDim)])
    }

    init(_ e: ExtractorRecord) {
        name = e.modelName; fingerprint = e.modelFingerprint; architecture = e.architecture; embedDim = e.embedDim
    }

    init(json: JSON, what: String) throws {
        let f = JSONFields(json: json, what: what)
        name = try f.string("model_name"); fingerprint = try f.string("model_fingerprint")
        architecture = try f.string("architecture"); embedDim = try f.int("embed_dim")
    }

    /// The refusal when `other` reuses this name with a different fingerprint.
    func conflict(with other: ExtractorRecord, store: String) -> StoreError? {
        guard other.modelFingerprint != fingerprint else { return nil }
        return StoreError("\(store): model name '\(name)' is registered with fingerprint \(fingerprint.prefix(16))… but this model has \(other.modelFingerprint.prefix(16))… (weights or preprocessing changed); index it under another --name or into another store")
    }
}
