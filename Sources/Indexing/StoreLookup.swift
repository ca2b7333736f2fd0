import Datasets
import FeatureCache

/// Finds the extractor and dataset a `cocoon query` command means: by model name, model
/// fingerprint or ext id, and by dataset name (any catalog spelling) or ds id. Ambiguity and
/// absence are one-line errors that list what the store holds.
public enum StoreLookup {
    /// The extractor of `modelName` (or of a model `fingerprint`), narrowed by `id` (16 hex digits)
    /// when several augmentation settings of the model are stored.
    public static func extractor(in store: FeatureStore, modelName: String? = nil, fingerprint: String? = nil,
                                 id: String? = nil) throws -> (id: ExtractorID, record: ExtractorRecord) {
        let all = try store.extractors()
        var candidates = all
        if let modelName { candidates = candidates.filter { $0.record.modelName == modelName } }
        if let fingerprint { candidates = candidates.filter { $0.record.modelFingerprint == fingerprint } }
        if let id {
            guard let wanted = ExtractorID(hex: id) else { throw IndexingError("--ext '\(id)': expected 16 hex digits (see `cocoon query stats`)") }
            candidates = candidates.filter { $0.id == wanted }
        }
        guard !candidates.isEmpty else {
            let known = Set(all.map(\.record.modelName)).sorted()
            let what = modelName.map { "model '\($0)'" } ?? (fingerprint.map { "a model with fingerprint \($0.prefix(16))…" } ?? "that extractor")
            throw IndexingError("\(store.path): no features of \(what); stored models: \(known.isEmpty ? "none" : known.joined(separator: ", ")) (index it with `cocoon index`)")
        }
        guard candidates.count == 1 else {
            let list = candidates.map { "\($0.id) (\($0.record.modelName), \($0.record.augmentedViews) views, \($0.record.augmentation))" }
            throw IndexingError("\(store.path): several extractors match: \(list.joined(separator: "; ")); choose one with --ext ID")
        }
        return candidates[0]
    }

    /// The dataset called `name` (exact record name, or the catalog's canonical name for it),
    /// narrowed by `id` when several versions are stored.
    public static func dataset(in store: FeatureStore, name: String, id: String? = nil) throws -> (id: DatasetID, record: DatasetRecord) {
        let all = try store.datasets()
        var candidates = all.filter { DatasetCatalog.storedName($0.record.name, matches: name) }
        if let id {
            guard let wanted = DatasetID(hex: id) else { throw IndexingError("--ds '\(id)': expected 16 hex digits (see `cocoon query stats`)") }
            candidates = candidates.filter { $0.id == wanted }
        }
        guard !candidates.isEmpty else {
            let known = all.map(\.record.name).sorted()
            throw IndexingError("\(store.path): no dataset '\(name)'; stored datasets: \(known.isEmpty ? "none" : known.joined(separator: ", "))")
        }
        guard candidates.count == 1 else {
            throw IndexingError("\(store.path): \(candidates.count) versions of dataset '\(name)' are stored (\(candidates.map { $0.id.description }.joined(separator: ", "))); choose one with --ds ID")
        }
        return candidates[0]
    }

    /// A split name ("train", "val", "test") as the store's split.
    public static func split(_ name: String) throws -> Split {
        guard let split = Split(name: name) else { throw IndexingError("--split '\(name)': expected train, val or test") }
        return split
    }
}
