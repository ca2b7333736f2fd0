import ArgumentParser
import CLIP
import Datasets
import FeatureCache
import Foundation
import Indexing
import Kernels

/// `cocoon query stats|get|search|classify|export`: read a feature store.
struct Query: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect a feature store: stats, single features, text search, zero-shot accuracy, export.",
        subcommands: [QueryStats.self, QueryGet.self, QuerySearch.self, QueryClassify.self, QueryExport.self])
}

/// Opens an existing store (never creates one).
/// What `query search` and `query classify` open: the store, the model's text tower, the dataset,
/// the split and the model's extractor.
func openModelQuery(store: String, model: String, dataset: String, split: String, ext: String?) throws
    -> (FeatureStore, CLIPModel, (id: DatasetID, record: DatasetRecord), Split, (id: ExtractorID, record: ExtractorRecord)) {
    let s = try openStore(store)
    let m = try CLIPModel(directory: URL(fileURLWithPath: model), loadImageTower: false)
    let d = try StoreLookup.dataset(in: s, name: dataset)
    let sp = try StoreLookup.split(split)
    return (s, m, d, sp, try extractorForModel(m, store: s, ds: d.id, split: sp, ext: ext))
}

func openStore(_ path: String) throws -> FeatureStore {
    guard FileManager.default.fileExists(atPath: path) else { throw IndexingError("\(path): no such store; check the path or run `cocoon index`") }
    return try FeatureStore(path: path)
}

/// The extractor of a model directory's fingerprint with features of (ds, split): `--ext` picks one
/// when several augmentation settings of the model are stored (their view 0 is the same).
func extractorForModel(_ model: CLIPModel, store: FeatureStore, ds: DatasetID, split: Split, ext: String?) throws -> (id: ExtractorID, record: ExtractorRecord) {
    let fingerprint = model.directory.fingerprint.hex
    if let ext { return try StoreLookup.extractor(in: store, fingerprint: fingerprint, id: ext) }
    let matching = try store.extractors().filter { $0.record.modelFingerprint == fingerprint }
    let withFeatures = try matching.filter { try store.job(ext: $0.id, ds: ds, split: split) != nil }
    guard let chosen = withFeatures.first ?? matching.first else {
        return try StoreLookup.extractor(in: store, fingerprint: fingerprint)  // throws the "no features" error
    }
    if withFeatures.count > 1 {
        FileHandle.standardError.write(Data("using extractor \(chosen.id) (\(withFeatures.count) match this model; --ext chooses another)\n".utf8))
    }
    return chosen
}

struct QueryStats: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Counts per model × dataset × split.")
    @Argument(help: "Store directory.") var store: String
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let s = try openStore(store)
        let stats = try s.stats()
        if json {
            try printJSON([
                "store": s.path, "schema": stats.schemaVersion, "map_size": stats.mapSize, "file_bytes": stats.fileBytes,
                "groups": stats.groups.map { g -> [String: Any] in
                    ["model": g.modelName, "dataset": g.datasetName, "split": g.split.description, "ext_id": g.ext.description,
                     "ds_id": g.ds.description, "features": g.features, "items": g.items, "dtype": g.dtype?.description ?? NSNull(),
                     "dim": g.dim, "value_bytes": g.valueBytes, "failures": g.failures, "job": g.jobStatus]
                },
            ])
            return
        }
        print("\(s.path): schema \(stats.schemaVersion), \(stats.fileBytes) bytes on disk, map \(stats.mapSize >> 20) MiB")
        if stats.groups.isEmpty { print("  (no features)") }
        for g in stats.groups {
            print("  \(g.modelName) × \(g.datasetName) \(g.split): \(g.items) items, \(g.features) features, \(g.dtype?.description ?? "?") \(g.dim)-d, \(g.failures) failed, job \(g.jobStatus.isEmpty ? "none" : g.jobStatus) (ext \(g.ext), ds \(g.ds))")
        }
    }
}

struct QueryGet: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "One stored feature vector.")
    @Argument(help: "Store directory.") var store: String
    @Option(help: "Model name as indexed.") var model: String
    @Option(help: "Dataset name.") var dataset: String
    @Option(help: "train, val or test.") var split: String
    @Option(help: "Item id (position in the split's manifest).") var item: UInt32
    @Option(help: "View (0 = eval transform).") var view: UInt16 = 0
    @Option(help: "Extractor id when the model has several.") var ext: String?
    @Flag(help: "L2-normalise the vector.") var normalized = false
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let s = try openStore(store)
        let e = try StoreLookup.extractor(in: s, modelName: model, id: ext)
        let d = try StoreLookup.dataset(in: s, name: dataset)
        let sp = try StoreLookup.split(split)
        guard let f = try s.feature(ext: e.id, ds: d.id, split: sp, item: item, view: view, normalized: normalized) else {
            throw IndexingError("\(s.path): no feature for \(model) × \(d.record.name) \(sp) item \(item) view \(view); see `cocoon query stats`")
        }
        let items = try s.items(ds: d.id, split: sp)
        let record = Int(item) < items.count ? items[Int(item)] : nil
        let label = Int(record?.label ?? -1)
        let classname = label >= 0 && label < d.record.classnames.count ? d.record.classnames[label] : ""
        if json {
            try printJSON(["model": model, "dataset": d.record.name, "split": sp.description, "item": Int(item), "view": Int(view),
                           "path": record?.relativePath ?? "", "label": label, "classname": classname, "dtype": f.dtype.description,
                           "norm": Double(f.norm), "vector": f.values.map { Double($0) }])
        } else {
            print("\(record?.relativePath ?? "?") label \(label) (\(classname)), view \(view), \(f.dtype) \(f.values.count)-d, norm \(f.norm)")
            print(f.values.map { "\($0)" }.joined(separator: " "))
        }
    }
}

struct QuerySearch: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "search", abstract: "Top cached images for a text prompt (cosine).")
    @Argument(help: "Store directory.") var store: String
    @Option(help: "Model directory (its text tower encodes the prompt).") var model: String
    @Option(help: "Dataset name.") var dataset: String
    @Option(help: "train, val or test.") var split: String = "test"
    @Option(help: "The prompt.") var text: String
    @Option(help: "How many images.") var top: Int = 5
    @Option(help: "Extractor id when the model has several.") var ext: String?
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let (s, m, d, sp, e) = try openModelQuery(store: store, model: model, dataset: dataset, split: split, ext: ext)
        let features = try CacheQueries.evalFeatures(store: s, ext: e.id, ds: d.id, split: sp)
        let query = try m.textFeatures([text])
        let hits = CacheQueries.search(features, query: query.data, top: top)
        let items = try s.items(ds: d.id, split: sp)
        let rows = hits.map { hit -> [String: Any] in
            let id = Int(features.items[hit.row]), label = Int(features.labels[hit.row])
            return ["item": id, "path": id < items.count ? items[id].relativePath : "", "label": label,
                    "classname": label >= 0 && label < d.record.classnames.count ? d.record.classnames[label] : "",
                    "score": Double(hit.score)]
        }
        if json {
            try printJSON(["text": text, "results": rows])
        } else {
            for (i, r) in rows.enumerated() {
                print(String(format: "%2d. %.4f  %@  (%@)", i + 1, r["score"] as! Double, r["path"] as! String, r["classname"] as! String))
            }
        }
    }
}

struct QueryClassify: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "classify", abstract: "Zero-shot accuracy from the cache (dataset template).")
    @Argument(help: "Store directory.") var store: String
    @Option(help: "Model directory (its text tower encodes the class prompts).") var model: String
    @Option(help: "Dataset name.") var dataset: String
    @Option(help: "train, val or test.") var split: String = "test"
    @Option(help: "Extractor id when the model has several.") var ext: String?
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let (s, m, d, sp, e) = try openModelQuery(store: store, model: model, dataset: dataset, split: split, ext: ext)
        let template = PromptTemplates.templates(for: d.record.name).zeroShot
        let prompts = d.record.classnames.map { PromptTemplates.prompt(template, classname: $0) }
        let text = try m.textFeatures(prompts)
        let features = try CacheQueries.evalFeatures(store: s, ext: e.id, ds: d.id, split: sp)
        guard features.count > 0 else {
            throw IndexingError("\(s.path): no \(sp) features of \(d.record.name) for this model; index the split first")
        }
        let result = CacheQueries.classify(features, text: text)
        if json {
            try printJSON(["dataset": d.record.name, "split": sp.description, "template": template, "classes": prompts.count,
                           "correct": result.correct, "total": result.total, "accuracy": result.accuracy])
        } else {
            print(String(format: "%@ %@: zero-shot accuracy %.2f%% (%d/%d), template \"%@\", %d classes",
                         d.record.name, sp.description, 100 * result.accuracy, result.correct, result.total, template, prompts.count))
        }
    }
}

struct QueryExport: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Write features.npy, labels.npy and items.csv.")
    @Argument(help: "Store directory.") var store: String
    @Option(help: "Model name as indexed.") var model: String
    @Option(help: "Dataset name.") var dataset: String
    @Option(help: "train, val or test.") var split: String
    @Option(help: "Output directory.") var out: String
    @Option(help: "Output format (npy).") var format: String = "npy"
    @Option(help: "Only the items of this few-shot subset (e.g. 16shot-s1).") var subset: String?
    @Option(help: "Only this view (0 = eval transform).") var view: Int?
    @Option(help: "Extractor id when the model has several.") var ext: String?

    func run() throws {
        guard format == "npy" else { throw IndexingError("--format '\(format)': only npy is supported") }
        let s = try openStore(store)
        let e = try StoreLookup.extractor(in: s, modelName: model, id: ext)
        let d = try StoreLookup.dataset(in: s, name: dataset)
        let result = try CacheExport.export(store: s, ext: e.id, ds: d.id, dataset: d.record, split: try StoreLookup.split(split),
                                            subset: subset, view: view, to: URL(fileURLWithPath: out))
        print("\(out): features.npy \(result.featureShape) float32, labels.npy [\(result.items)] int64, items.csv \(result.items) rows")
    }
}
