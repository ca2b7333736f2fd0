import CLIP
import DatasetNames
import Datasets
import FeatureCache
import Foundation
import Imaging
import Indexing
import Kernels
import PromptLearning
#if canImport(Glibc)
import Glibc
#endif

/// An error a request maps to: its HTTP status and the one-line `{"error": …}` message.
struct RequestError: Error, CustomStringConvertible {
    var status: Int
    var description: String
    init(_ status: Int, _ description: String) { self.status = status; self.description = description }
}

/// A learned prompt the server was started with; `name` is its file name without extension.
struct LoadedPrompt {
    let name: String
    let path: String
    let checkpoint: PromptCheckpoint
}

/// View-0 features of one (dataset, split) with its item records: what search reads.
struct SearchIndex {
    let datasetName: String
    let record: DatasetRecord
    let split: Split
    let features: EvalFeatures
    let items: [ItemRecord]
}

/// Everything the handlers read: the store, the model, the prompts, the image roots, and caches.
///
/// Threading: FlyingFox runs handlers on Swift's cooperative pool, which must never block; every
/// blocking step runs on a dispatch queue and is awaited. CLIP forward passes and classifier
/// construction share ONE serial queue (`modelQueue`: the towers and learners keep scratch state
/// and a single BLAS pool); store reads and file reads run on a concurrent queue (`ioQueue`: LMDB
/// read transactions are `MDB_NOTLS`, any thread may read). So a slow encode never holds up
/// stats, thumbnails or already-cached searches.
final class ServeEngine: @unchecked Sendable {
    let store: FeatureStore
    let model: CLIPModel
    let encoder: ImageEncoder
    let normalization: Normalization
    let modelReference: ModelReference
    let prompts: [LoadedPrompt]
    /// Image roots by the store's dataset record name, as real paths (symlinks resolved).
    let roots: [String: String]
    let maxUploadBytes: Int

    private let modelQueue = DispatchQueue(label: "cocoon-serve.model")
    private let ioQueue = DispatchQueue(label: "cocoon-serve.io", qos: .userInitiated, attributes: .concurrent)
    private let lock = NSLock()
    private var searchCache: [String: SearchIndex] = [:]
    private var itemsCache: [String: [ItemRecord]] = [:]
    private var accuracyCache: [String: [String: Any]] = [:]
    /// Touched only on `modelQueue`.
    private var classifierCache: [String: (classifier: Classifier, classnames: [String])] = [:]

    init(storePath: String, modelPath: String, promptPaths: [String], roots rootArguments: [String], maxUploadBytes: Int) throws {
        store = try FeatureStore.openExisting(path: storePath)
        model = try CLIPModel(directory: URL(fileURLWithPath: modelPath), loadImageTower: true)
        guard let encoder = model.image else {
            throw RequestError(0, "\(modelPath): the model has no image tower; serve needs a full CLIP model directory")
        }
        self.encoder = encoder
        normalization = try ExtractorDescription.normalization(model.directory.preprocess)
        modelReference = .fingerprint(model.directory.fingerprint.hex)
        var prompts: [LoadedPrompt] = []
        for path in promptPaths {
            let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
            guard !prompts.contains(where: { $0.name == name }) else {
                throw RequestError(0, "--prompt \(path): another prompt is already called '\(name)'; rename one of the files")
            }
            prompts.append(LoadedPrompt(name: name, path: path, checkpoint: try PromptCheckpoint.read(from: URL(fileURLWithPath: path))))
        }
        self.prompts = prompts
        var roots: [String: String] = [:]
        for argument in rootArguments {
            guard let eq = argument.firstIndex(of: "="), eq != argument.startIndex else {
                throw RequestError(0, "--root '\(argument)': expected DATASET=DIR")
            }
            let name = String(argument[..<eq]), dir = String(argument[argument.index(after: eq)...])
            let record = try store.dataset(named: name).record
            guard let real = Self.realPath(dir), Self.isDirectory(real) else {
                throw RequestError(0, "--root \(argument): \(dir) is not a folder")
            }
            roots[record.name] = real
        }
        self.roots = roots
        self.maxUploadBytes = maxUploadBytes
        _ = try store.extractor(of: modelReference)          // fail at start, not per request, when the model is not in the store
    }

    // MARK: queues

    func io<T>(_ body: @escaping () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { c in ioQueue.async { c.resume(with: Result { try body() }) } }
    }

    func onModel<T>(_ body: @escaping () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { c in modelQueue.async { c.resume(with: Result { try body() }) } }
    }

    private func cached<T>(_ cache: ReferenceWritableKeyPath<ServeEngine, [String: T]>, _ key: String, _ make: () throws -> T) rethrows -> T {
        lock.lock()
        if let hit = self[keyPath: cache][key] { lock.unlock(); return hit }
        lock.unlock()
        let value = try make()
        lock.lock(); self[keyPath: cache][key] = value; lock.unlock()
        return value
    }

    // MARK: store (call on `io`)

    /// The dataset called `name`; an unknown name is a 404.
    func dataset(_ name: String) throws -> (id: DatasetID, record: DatasetRecord) {
        do { return try store.dataset(named: name) } catch { throw RequestError(404, "\(error)") }
    }

    func split(_ name: String) throws -> Split {
        guard let split = Split(name: name) else { throw RequestError(400, "split '\(name)': expected train, val or test") }
        return split
    }

    func searchIndex(dataset name: String, split: Split) throws -> SearchIndex {
        let source: FeatureSource
        do { source = try store.lookup(model: modelReference, dataset: name) } catch { throw RequestError(404, "\(error)") }
        return try cached(\.searchCache, "\(source.ds)|\(split)") {
            let features = try CacheQueries.evalFeatures(store: store, ext: source.ext, ds: source.ds, split: split)
            return SearchIndex(datasetName: source.dataset.name, record: source.dataset, split: split, features: features,
                               items: try items(dataset: source.ds, split: split))
        }
    }

    func items(dataset: DatasetID, split: Split) throws -> [ItemRecord] {
        try cached(\.itemsCache, "\(dataset)|\(split)") { try store.items(ds: dataset, split: split) }
    }

    func stats() throws -> [String: Any] {
        let stats = try store.stats()
        let groups = stats.groups.map { g -> [String: Any] in
            ["model": g.modelName, "dataset": g.datasetName, "split": g.split.description, "items": g.items,
             "features": g.features, "failures": g.failures, "dim": g.dim, "dtype": g.dtype?.description ?? NSNull(),
             "job": g.jobStatus]
        }
        return [
            "store": store.path, "schema": stats.schemaVersion, "file_bytes": stats.fileBytes,
            "models": Array(Set(stats.groups.map(\.modelName))).sorted(),
            "datasets": Array(Set(stats.groups.map(\.datasetName))).sorted(),
            "splits": Array(Set(stats.groups.map { $0.split.description })).sorted(),
            "items": stats.groups.reduce(0) { $0 + $1.items }, "features": stats.groups.reduce(0) { $0 + $1.features },
            "failures": stats.groups.reduce(0) { $0 + $1.failures },
            "groups": groups,
            "prompts": prompts.map { ["name": $0.name, "method": $0.checkpoint.recipe.method, "dataset": $0.checkpoint.recipe.dataset] },
            "roots": roots.keys.sorted(), "max_upload_bytes": maxUploadBytes,
        ]
    }

    /// The file of item `item` of (dataset, split) under the dataset's root: the path comes from
    /// the store's item record only; the real path (symlinks resolved) must lie inside the root.
    func thumbnail(dataset name: String, split: String, item: String) throws -> (data: Data, contentType: String) {
        let notFound = RequestError(404, "no such thumbnail")
        guard let sp = Split(name: split), let id = UInt32(item), let d = try? store.dataset(named: name),
              let root = roots[d.record.name] else { throw notFound }
        let records = try items(dataset: d.id, split: sp)
        guard Int(id) < records.count else { throw notFound }
        let relative = records[Int(id)].relativePath
        guard let real = Self.realPath((root as NSString).appendingPathComponent(relative)),
              real.hasPrefix(root.hasSuffix("/") ? root : root + "/"), !Self.isDirectory(real),
              let data = FileManager.default.contents(atPath: real) else { throw notFound }
        let type: String
        switch (real as NSString).pathExtension.lowercased() {
        case "jpg", "jpeg": type = "image/jpeg"
        case "png": type = "image/png"
        default: type = "application/octet-stream"
        }
        return (data, type)
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    // MARK: model (call on `onModel`)

    /// Normalised text features [D] of `text`.
    func textQuery(_ text: String) throws -> [Float] {
        let t = try model.textFeatures([text])
        return Array(UnsafeBufferPointer(start: t.data, count: model.text.embedDim))
    }

    /// Zero-shot with the dataset's hand-crafted template over `classnames`.
    func zeroShot(datasetName: String, classnames: [String]) throws -> Classifier {
        try cachedClassifier("zs|\(datasetName)|\(classnames.count)") {
            let template = PromptTemplates.templates(for: datasetName).zeroShot
            let context = MethodContext(model: model, classnames: classnames, dataset: datasetName, hyperparameters: .baseline(templates: [template]))
            return (try ZeroShotMethod.classifier(for: context), classnames)
        }.classifier
    }

    /// A prompt's classifier over `classnames` (class tokens rebuilt for them, as `cocoon eval` does).
    func promptClassifier(_ prompt: LoadedPrompt, classnames: [String], datasetName: String) throws -> Classifier {
        try cachedClassifier("p|\(prompt.name)|\(datasetName)|\(classnames.count)") {
            (try prompt.checkpoint.classifier(model: model, classnames: classnames, dataset: datasetName), classnames)
        }.classifier
    }

    private func cachedClassifier(_ key: String, _ make: () throws -> (classifier: Classifier, classnames: [String])) rethrows
        -> (classifier: Classifier, classnames: [String]) {
        if let hit = classifierCache[key] { return hit }
        let value = try make()
        classifierCache[key] = value
        return value
    }

    /// Top-5 of zero-shot and every prompt for one uploaded image. Zero-shot and (for a
    /// comparison over the same classes) the prompts use the class names of `dataset`; without
    /// it, zero-shot is left out and each prompt uses its own classes.
    func classify(_ body: Data, dataset: (name: String, classnames: [String])?) throws -> [[String: Any]] {
        let image: RGBImage
        do { image = try ImageDecoder.decode(data: body, name: "upload") } catch { throw RequestError(400, "\(error)") }
        let R = encoder.imageSize, D = encoder.embedDim
        let pixels = Tensor(shape: [1, 3, R, R])
        Preprocess.view(image, view: 0, seed: 0, itemKey: "upload", size: R, normalization: normalization, into: pixels.data)
        let features = encoder.encode(pixels: pixels.data, batch: 1)                  // [1, D]
        Elementwise.normalizeRows(features.data, rows: 1, dim: D)
        var heads: [(name: String, kind: String, classifier: Classifier, classnames: [String])] = []
        if let dataset {
            heads.append(("zero-shot", "zeroshot", try zeroShot(datasetName: dataset.name, classnames: dataset.classnames), dataset.classnames))
        }
        for p in prompts {
            let names = dataset?.classnames ?? p.checkpoint.recipe.classnames
            let datasetName = dataset?.name ?? p.checkpoint.recipe.dataset
            heads.append((p.name, p.checkpoint.recipe.method, try promptClassifier(p, classnames: names, datasetName: datasetName), names))
        }
        return heads.map { head in
            let logits = head.classifier.logits(images: features)                     // [1, K]
            let best = Predictions.top(logits, row: 0, count: 5)
            return ["name": head.name, "kind": head.kind, "classes": head.classnames.count,
                    "top": best.map { ["class": head.classnames[$0.label], "label": $0.label, "probability": $0.probability] as [String: Any] }]
        }
    }

    // MARK: accuracy

    /// Per-class test accuracy of `prompt` and of zero-shot on the cached test split of
    /// `datasetName`, and the 10 confusion pairs whose counts changed most.
    func accuracy(prompt: LoadedPrompt, datasetName: String) async throws -> [String: Any] {
        let key = "\(prompt.name)|\(datasetName)"
        if let hit = cachedAccuracy(key) { return hit }
        let (data, classnames, features) = try await io { () throws -> (CachedDataset, [String], FeatureSet) in
            let data: CachedDataset
            do { data = try CachedDataset(store: self.store, model: self.modelReference, datasetName: datasetName) } catch {
                throw RequestError(404, "\(error)")
            }
            let (names, features) = try data.evaluation(.test, classes: .all)
            return (data, names, features)
        }
        guard features.count > 0 else { throw RequestError(404, "\(data.record.name): no cached test features") }
        let (zs, tuned) = try await onModel { () throws -> ([Int], [Int]) in
            let images = features.evaluationFeatures()
            let z = try self.zeroShot(datasetName: data.record.name, classnames: classnames)
            let p = try self.promptClassifier(prompt, classnames: classnames, datasetName: data.record.name)
            return (Predictions.argmax(z.logits(images: images)), Predictions.argmax(p.logits(images: images)))
        }
        let K = classnames.count, labels = features.labels
        var count = [Int](repeating: 0, count: K), zCorrect = count, pCorrect = count
        var zConfusion = [Int](repeating: 0, count: K * K), pConfusion = zConfusion
        for (n, label) in labels.enumerated() {
            count[label] += 1
            if zs[n] == label { zCorrect[label] += 1 }
            if tuned[n] == label { pCorrect[label] += 1 }
            zConfusion[label * K + zs[n]] += 1
            pConfusion[label * K + tuned[n]] += 1
        }
        func percent(_ a: Int, _ b: Int) -> Double { b > 0 ? 100 * Double(a) / Double(b) : 0 }
        let perClass = (0..<K).map { k -> [String: Any] in
            ["label": k, "class": classnames[k], "count": count[k], "prompt": percent(pCorrect[k], count[k]),
             "zeroshot": percent(zCorrect[k], count[k])]
        }
        var pairs: [(t: Int, p: Int, z: Int, q: Int)] = []
        for t in 0..<K { for q in 0..<K where t != q && zConfusion[t * K + q] != pConfusion[t * K + q] {
            pairs.append((t, q, zConfusion[t * K + q], pConfusion[t * K + q]))
        } }
        pairs.sort { abs($0.q - $0.z) != abs($1.q - $1.z) ? abs($0.q - $0.z) > abs($1.q - $1.z) : ($0.t, $0.p) < ($1.t, $1.p) }
        let result: [String: Any] = [
            "prompt": prompt.name, "method": prompt.checkpoint.recipe.method, "dataset": data.record.name, "split": "test",
            "count": labels.count,
            "accuracy": ["prompt": percent(pCorrect.reduce(0, +), labels.count), "zeroshot": percent(zCorrect.reduce(0, +), labels.count)],
            "classes": perClass,
            "confusion_changes": pairs.prefix(10).map {
                ["true": classnames[$0.t], "predicted": classnames[$0.p], "zeroshot": $0.z, "prompt": $0.q, "change": $0.q - $0.z] as [String: Any]
            },
        ]
        _ = cachedAccuracy(key, store: result)
        return result
    }

    private func cachedAccuracy(_ key: String, store value: [String: Any]? = nil) -> [String: Any]? {
        lock.withLock {
            if let value { accuracyCache[key] = value }
            return accuracyCache[key]
        }
    }
}
