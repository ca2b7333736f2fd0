import ArgumentParser
import CLIP
import DatasetNames
import Datasets
import FeatureCache
import Foundation
import Indexing
import Kernels

/// `cocoon query stats|get|search|export`: read a feature store (zero-shot accuracy is `cocoon zeroshot`).
struct Query: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect a feature store: stats, single features, text search, export.",
        subcommands: [QueryStats.self, QueryGet.self, QuerySearch.self, QueryExport.self])
}


/// `--model` where only features are read: a model directory (found by its fingerprint) or the
/// name the model was indexed under.
func modelReference(_ argument: String) throws -> ModelReference {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory), isDirectory.boolValue {
        return .fingerprint(try CLIPModelDirectory(url: URL(fileURLWithPath: argument)).fingerprint.hex)
    }
    return .name(argument)
}

/// The options of every `query` command that reads one model's features of one dataset split,
/// resolved through the store's one lookup (`FeatureStore.lookup`).
struct FeatureQueryOptions: ParsableArguments {
    @Argument(help: "Store directory.") var store: String
    @Option(help: "Model directory, or (where only features are read) the model name as indexed.") var model: String
    @Option(help: "Dataset name.") var dataset: String
    @Option(help: "train, val or test.") var split: String = "test"
    @Option(help: "Extractor id (hex) when the store holds several for this model.") var extractor: String?
    @Option(help: "Dataset id (hex) when the store holds several versions of the dataset.") var datasetID: String?

    func resolve() throws -> (store: FeatureStore, source: FeatureSource, split: Split) {
        let s = try FeatureStore.openExisting(path: store)
        let source = try s.lookup(model: try modelReference(model), dataset: dataset, extractorID: extractor, datasetID: datasetID)
        return (s, source, try FeatureStore.split(split))
    }

    /// The model directory's text tower (search encodes text).
    func textModel() throws -> CLIPModel {
        try CLIPModel(directory: URL(fileURLWithPath: model), loadImageTower: false)
    }
}

struct QueryStats: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Counts per model × dataset × split.")
    @Argument(help: "Store directory.") var store: String
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let s = try FeatureStore.openExisting(path: store)
        let stats = try s.stats()
        if json {
            try printJSON([
                "store": s.path, "schema": stats.schemaVersion, "map_size": stats.mapSize, "file_bytes": stats.fileBytes,
                "groups": stats.groups.map { g -> [String: Any] in
                    ["model": g.modelName, "dataset": g.datasetName, "split": g.split.description, "ext_id": g.ext.description,
                     "ds_id": g.ds.description, "features": g.features, "items": g.items, "dtype": g.dtype?.description ?? NSNull(),
                     "dim": g.dim, "value_bytes": g.valueBytes, "failures": g.failures, "job": g.jobStatus,
                     "recipe_views": Dictionary(uniqueKeysWithValues: g.recipeViews.map { ($0.key.description, $0.value) })]
                },
            ])
            return
        }
        print("\(s.path): schema \(stats.schemaVersion), \(stats.fileBytes) bytes on disk, map \(stats.mapSize >> 20) MiB")
        if stats.groups.isEmpty { print("  (no features)") }
        for g in stats.groups {
            let recipes = g.recipeViews.keys.sorted().map { ", \(g.recipeViews[$0]!) views of recipe \($0)" }.joined()
            print("  \(g.modelName) × \(g.datasetName) \(g.split): \(g.items) items, \(g.features) features\(recipes), \(g.dtype?.description ?? "?") \(g.dim)-d, \(g.failures) failed, job \(g.jobStatus.isEmpty ? "none" : g.jobStatus) (ext \(g.ext), ds \(g.ds))")
        }
    }
}

struct QueryGet: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "One stored feature vector.")
    @OptionGroup var query: FeatureQueryOptions
    @Option(help: "Item id (position in the split's manifest).") var item: UInt32
    @Option(help: "View (0 = eval transform; 1… augmented views of --recipe).") var view: UInt16 = 0
    @Option(help: "Recipe (8 hex digits) of an augmented view.") var recipe: String?
    @Flag(help: "L2-normalise the vector.") var normalized = false
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let (s, source, sp) = try query.resolve()
        let key: ViewKey
        if view == 0 {
            key = .eval
        } else {
            guard let recipe, let id = RecipeID(hex: recipe) else { throw OptionError("--view \(view): give the view's --recipe (8 hex digits; see `cocoon query stats`)") }
            key = ViewKey(recipe: id, view: view)
        }
        guard let f = try s.feature(ext: source.ext, ds: source.ds, split: sp, item: item, view: key, normalized: normalized) else {
            throw OptionError("\(s.path): no feature for \(source.extractor.modelName) × \(source.dataset.name) \(sp) item \(item) view \(view); see `cocoon query stats`")
        }
        let items = try s.items(ds: source.ds, split: sp)
        let record = Int(item) < items.count ? items[Int(item)] : nil
        let label = Int(record?.label ?? -1)
        let classname = label >= 0 && label < source.dataset.classnames.count ? source.dataset.classnames[label] : ""
        if json {
            try printJSON(["model": source.extractor.modelName, "dataset": source.dataset.name, "split": sp.description, "item": Int(item),
                           "view": Int(view), "recipe": recipe ?? "", "path": record?.relativePath ?? "", "label": label,
                           "classname": classname, "dtype": f.dtype.description, "norm": Double(f.norm), "vector": f.values.map { Double($0) }])
        } else {
            print("\(record?.relativePath ?? "?") label \(label) (\(classname)), view \(view), \(f.dtype) \(f.values.count)-d, norm \(f.norm)")
            print(f.values.map { "\($0)" }.joined(separator: " "))
        }
    }
}

struct QuerySearch: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "search", abstract: "Top cached images for a text prompt (cosine).")
    @OptionGroup var query: FeatureQueryOptions
    @Option(help: "The prompt.") var text: String
    @Option(help: "How many images.") var top: Int = 5
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let (s, source, sp) = try query.resolve()
        let m = try query.textModel(), d = (id: source.ds, record: source.dataset)
        let features = try CacheQueries.evalFeatures(store: s, ext: source.ext, ds: d.id, split: sp)
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

struct QueryExport: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Write features.npy, labels.npy and items.csv.")
    @OptionGroup var query: FeatureQueryOptions
    @Option(help: "Output directory.") var out: String
    @Option(help: "Output format (npy).") var format: String = "npy"
    @Option(help: "Only the items of this few-shot subset (e.g. 16shot-s1).") var subset: String?
    @Option(help: "Also the augmented views of this recipe (8 hex digits; see `cocoon query stats`).") var recipe: String?
    @Option(help: "Only this view (0 = eval transform).") var view: Int?

    func run() throws {
        guard format == "npy" else { throw OptionError("--format '\(format)': only npy is supported") }
        let (s, source, sp) = try query.resolve()
        var recipeID: RecipeID?
        if let recipe {
            guard let id = RecipeID(hex: recipe) else { throw OptionError("--recipe '\(recipe)': expected 8 hex digits (see `cocoon query stats`)") }
            recipeID = id
        }
        let result = try CacheExport.export(store: s, ext: source.ext, ds: source.ds, dataset: source.dataset, split: sp,
                                            subset: subset, recipe: recipeID, view: view, to: URL(fileURLWithPath: out))
        print("\(out): features.npy \(result.featureShape) float32, labels.npy [\(result.items)] int64, items.csv \(result.items) rows")
    }
}
