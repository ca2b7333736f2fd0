import DatasetNames

/// How a command names the model whose features it reads: by the fingerprint of a model
/// directory (what `tune`, `eval` and `query search` load anyway) or by the name it was indexed
/// under (enough where only features are read, e.g. `query export`).
public enum ModelReference: Equatable {
    case fingerprint(String)
    case name(String)
}

/// One model's features of one dataset in a store: the extractor and the dataset, as every
/// command that reads features finds them (`FeatureStore.lookup`).
public struct FeatureSource {
    public var ext: ExtractorID
    public var extractor: ExtractorRecord
    public var ds: DatasetID
    public var dataset: DatasetRecord
}

extension FeatureStore {
    /// The ONE lookup of features: the single extractor of `model` and the single dataset called
    /// `dataset` (any catalog spelling), narrowed by `extractorID`/`datasetID` (16 hex digits) when
    /// the store holds several. Absence and ambiguity are one-line errors listing the choices.
    public func lookup(model: ModelReference, dataset: String, extractorID: String? = nil,
                       datasetID: String? = nil) throws -> FeatureSource {
        let e = try extractor(of: model, id: extractorID)
        let d = try self.dataset(named: dataset, id: datasetID)
        return FeatureSource(ext: e.id, extractor: e.record, ds: d.id, dataset: d.record)
    }

    /// The extractor of `model`, narrowed by `id`.
    public func extractor(of model: ModelReference, id: String? = nil) throws -> (id: ExtractorID, record: ExtractorRecord) {
        let all = try extractors()
        var candidates: [(id: ExtractorID, record: ExtractorRecord)]
        let what: String
        switch model {
        case .fingerprint(let fingerprint):
            candidates = all.filter { $0.record.modelFingerprint == fingerprint }
            what = "this model (fingerprint \(fingerprint.prefix(16))…)"
        case .name(let name):
            candidates = all.filter { $0.record.modelName == name }
            what = "model '\(name)'"
        }
        if let id {
            guard let wanted = ExtractorID(hex: id) else { throw StoreError("--extractor '\(id)': expected 16 hex digits (see `cocoon query stats`)") }
            candidates = candidates.filter { $0.id == wanted }
        }
        guard !candidates.isEmpty else {
            let known = Set(all.map(\.record.modelName)).sorted()
            throw StoreError("\(path): no features of \(what)\(id.map { " with extractor \($0)" } ?? ""); stored models: \(known.isEmpty ? "none" : known.joined(separator: ", ")) (index it with `cocoon index --store \(path)`)")
        }
        guard candidates.count == 1 else {
            let list = candidates.map { "\($0.id) (\($0.record.modelName), \($0.record.precision ?? "fp32"), \($0.record.codeVersion), \($0.record.preprocessing.prefix(40))…)" }
            throw StoreError("\(path): \(candidates.count) extractors of \(what): \(list.joined(separator: "; ")); choose one with --extractor ID")
        }
        return candidates[0]
    }

    /// The dataset called `name` (exact record name, or the catalog's canonical name for it),
    /// narrowed by `id` when several versions are stored.
    public func dataset(named name: String, id: String? = nil) throws -> (id: DatasetID, record: DatasetRecord) {
        let all = try datasets()
        var candidates = all.filter { DatasetName.stored($0.record.name, matches: name) }
        if let id {
            guard let wanted = DatasetID(hex: id) else { throw StoreError("--dataset-id '\(id)': expected 16 hex digits (see `cocoon query stats`)") }
            candidates = candidates.filter { $0.id == wanted }
        }
        guard !candidates.isEmpty else {
            let known = all.map(\.record.name).sorted()
            throw StoreError("\(path): no dataset '\(name)'; stored datasets: \(known.isEmpty ? "none" : known.joined(separator: ", ")) (index it with `cocoon index --dataset \(name) --store \(path)`)")
        }
        guard candidates.count == 1 else {
            throw StoreError("\(path): \(candidates.count) versions of dataset '\(name)' are stored (\(candidates.map { $0.id.description }.joined(separator: ", "))); choose one with --dataset-id ID")
        }
        return candidates[0]
    }

    /// The recipe whose augmented views a training run reads from `split`: the one `choice` names
    /// (`.id`: that recipe; `.cropScale`: the one recipe whose policy has that crop scale), else
    /// the only recipe with views there; nil when no recipe has views there (view 0 only).
    /// A wanted recipe that is absent, and several candidates, are one-line errors listing the
    /// recipes stored and the fix.
    public func trainingRecipe(_ source: FeatureSource, split: Split, choice: RecipeChoice?) throws -> RecipeID? {
        var items: [RecipeID: Int] = [:]
        for (_, views) in try storedViews(ext: source.ext, ds: source.ds, split: split) {
            for r in Set(views.map(\.recipe)) where r != .eval { items[r, default: 0] += 1 }
        }
        let what = "\(source.dataset.name) (\(source.extractor.modelName))"
        switch choice {
        case .id(let hex)?:
            guard let id = RecipeID(hex: hex) else { throw StoreError("--recipe '\(hex)': expected 8 hex digits (see `cocoon query stats`)") }
            guard items[id] != nil else {
                throw StoreError("\(path): no \(split) views of recipe \(id) for \(what); stored recipes: \(try describe(items))")
            }
            return id
        case .cropScale(let scale)?:
            guard !items.isEmpty else { return nil }
            let matching = try items.keys.filter { try recipe($0)?.cropScale == scale }
            let number = RecipePolicy.number(scale)
            guard !matching.isEmpty else {
                let scales = Set(try items.keys.map { try recipe($0)?.cropScale.map(RecipePolicy.number) ?? "?" }).sorted()
                throw StoreError("\(path): no \(split) views with crop scale \(number) of \(what); stored crop scales: \(scales.joined(separator: ", ")) (recipes \(try describe(items))); index them with `cocoon index … --views K --crop-scale \(number)`, or pass --recipe HEX to use another")
            }
            guard matching.count == 1 else {
                throw StoreError("\(path): \(matching.count) recipes with crop scale \(number) have \(split) views of \(what): \(try describe(items.filter { matching.contains($0.key) })); choose one with --recipe ID")
            }
            return matching[0]
        case nil:
            guard items.count <= 1 else {
                throw StoreError("\(path): \(items.count) augmentation recipes have \(split) views of \(what): \(try describe(items)); choose one with --recipe ID")
            }
            return items.keys.first
        }
    }

    private func describe(_ items: [RecipeID: Int]) throws -> String {
        guard !items.isEmpty else { return "none" }
        return try items.keys.sorted().map { id in
            let r = try recipe(id)
            return "\(id) (\(r?.policy ?? "?"), seed \(r.map { String($0.seed) } ?? "?"), \(items[id]!) items)"
        }.joined(separator: "; ")
    }

    /// A split name ("train", "val", "test") as the store's split.
    public static func split(_ name: String) throws -> Split {
        guard let split = Split(name: name) else { throw StoreError("--split '\(name)': expected train, val or test") }
        return split
    }
}
