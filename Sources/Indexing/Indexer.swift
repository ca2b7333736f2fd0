import CLIP
import DatasetNames
import Datasets
import FeatureCache
import Foundation
import Imaging
import Kernels

/// The index pipeline (`cocoon index`): dataset items → decode + views on worker threads → batched
/// image encoder → `FeatureWriter`. Registers the extractor (refusing a model name whose
/// fingerprint changed), the recipe of the augmented views, the dataset with every file's size
/// and hash, and the few-shot subsets; then per split encodes exactly the (item, view) pairs the
/// store lacks: a rerun after a crash encodes nothing twice and loses nothing, and a run with more
/// views, another recipe or more few-shot draws adds rows without re-encoding view 0. Unreadable
/// images are recorded as failures (retried by the next run) or stop the run with `strict`.
public final class Indexer {
    public let settings: IndexSettings
    /// Draw the progress line on stderr.
    public var showsProgress: Bool

    public init(settings: IndexSettings, showsProgress: Bool = true) {
        self.settings = settings
        self.showsProgress = showsProgress
    }

    public func run() throws -> IndexSummary {
        try settings.validate()
        let dataset = try DatasetCatalog.load(name: settings.datasetName, root: settings.dataRoot)
        let model = try CLIPModel(directory: settings.modelDirectory, loadImageTower: true)
        guard let encoder = model.image else {
            throw IndexingError("\(settings.modelDirectory.path): the model has no image tower; index with a full CLIP model directory")
        }
        let normalization = try ExtractorDescription.normalization(model.directory.preprocess)
        let store = try FeatureStore(path: settings.storePath, options: FeatureStore.Options(create: true))
        _ = try IndexerLock(storePath: store.path)  // fail fast if another indexer writes here; released at once

        encoder.use(settings.precision)
        let record = ExtractorDescription.record(model: model, modelName: settings.resolvedModelName, precision: settings.precision)
        let ext = try store.registerExtractor(record)
        let recipe = settings.augmentedViews > 0 ? try store.registerRecipe(ExtractorDescription.recipe(seed: settings.seed, cropScale: settings.cropScale)) : nil
        try store.recordNumerics(NumericsRecord(library: "\(OpenBLASCore.library) + \(FP32Kernel.version)", kernels: OpenBLASCore.current), for: ext)
        let datasetRecord = try DatasetRegistration.register(dataset, in: store, threads: settings.decodeThreads)
        let ds = datasetRecord.id
        let (augmented, subsets) = try recordSubsets(dataset, store: store, ds: ds)
        let heldOut = heldOutSlice(dataset)

        let renderer = ViewRenderer(imageSize: encoder.imageSize, normalization: normalization, seed: settings.seed,
                                    cropScale: settings.cropScale)
        var summaries: [SplitSummary] = []
        for split in settings.splits {
            let items = dataset.indexedItems(split)
            guard !items.isEmpty else { continue }
            summaries.append(try index(split: split, items: items, dataset: dataset, store: store, ext: ext, ds: ds,
                                       recipe: recipe, augmented: augmented, heldOut: heldOut, encoder: encoder, renderer: renderer))
        }
        return IndexSummary(ext: ext, extractor: record, recipe: recipe, augmentedViews: settings.augmentedViews,
                            ds: ds, dataset: datasetRecord, subsets: subsets, heldOutItems: heldOut.count, splits: summaries)
    }

    /// With `--train-items fewshot` on a dataset without a val split of its own: the train item ids
    /// of `TrainHoldout`'s selection slice for each draw of `--views-for` (view 0 only), so the
    /// tuner can select hyper-parameters from a few-shot-only store. Empty otherwise (every train
    /// item is indexed, or val is the selection data).
    private func heldOutSlice(_ dataset: Dataset) -> Set<Int> {
        guard settings.onlyFewShotTrainItems, case .fewShot(let shots, let seeds) = settings.viewScope,
              !dataset.isTestOnly, TrainHoldout.isNeeded(dataset) else { return [] }
        var index: [String: Int] = [:]
        for (i, item) in dataset.train.enumerated() where index[item.path] == nil { index[item.path] = i }
        var ids: Set<Int> = []
        for seed in seeds {
            let draw = FewShotSampler.sample(dataset, shots: shots, seed: seed)
            ids.formUnion(TrainHoldout.items(dataset.train, excluding: draw.train).compactMap { index[$0.path] })
        }
        return ids
    }

    /// Records the few-shot subsets of `--views-for fewshot:N:SEEDS` (train and, where drawn, val)
    /// and returns the train item ids that get augmented views (nil: every train item).
    private func recordSubsets(_ dataset: Dataset, store: FeatureStore, ds: DatasetID) throws -> (Set<Int>?, [String]) {
        guard case .fewShot(let shots, let seeds) = settings.viewScope, !dataset.isTestOnly else { return (nil, []) }
        func positions(_ split: Split) -> [String: Int] {
            var index: [String: Int] = [:]
            for (i, item) in dataset.items(split).enumerated() where index[item.path] == nil { index[item.path] = i }
            return index
        }
        let trainIndex = positions(.train), valIndex = positions(.val)
        var augmented: Set<Int> = []
        var names: [String] = []
        for seed in seeds {
            let draw = FewShotSampler.sample(dataset, shots: shots, seed: seed)
            let name = FewShotSubsetName.make(shots: shots, seed: seed)
            let train = draw.train.compactMap { trainIndex[$0.path] }
            try store.putSubset(ds: ds, split: .train, name: name, items: train.map { UInt32($0) })
            if let val = draw.val, !val.isEmpty {
                try store.putSubset(ds: ds, split: .val, name: name, items: val.compactMap { valIndex[$0.path] }.map { UInt32($0) })
            }
            augmented.formUnion(train)
            names.append(name)
        }
        return (augmented, names)
    }

    /// One split: the views the shard's items lack (view 0 for every item; views 1…K of `recipe`
    /// for augmented train items), encoded in batches of `settings.batch` images, written in item order.
    /// With `--train-items fewshot` the train items are the augmented ones and the `heldOut` slice.
    private func index(split: Split, items: [DatasetItem], dataset: Dataset, store: FeatureStore, ext: ExtractorID,
                       ds: DatasetID, recipe: RecipeID?, augmented: Set<Int>?, heldOut: Set<Int>, encoder: ImageEncoder,
                       renderer: ViewRenderer) throws -> SplitSummary {
        let keepsAll = split != .train || !settings.onlyFewShotTrainItems
        let shardIDs = items.indices.filter {
            settings.shard.contains(key: items[$0].path) && (keepsAll || augmented?.contains($0) == true || heldOut.contains($0))
        }
        var summary = SplitSummary(split: split, items: shardIDs.count, alreadyDone: 0, indexed: 0, images: 0,
                                   failures: [], seconds: 0, wasComplete: false)
        let K = settings.augmentedViews
        let stored = try store.storedViews(ext: ext, ds: ds, split: split)
        let jobs = shardIDs.compactMap { id -> ViewJob? in
            var wanted = [ViewKey.eval]
            if let recipe, split == .train, augmented?.contains(id) ?? true {
                wanted += (1...K).map { ViewKey(recipe: recipe, view: UInt16($0)) }
            }
            let have = Set(stored[UInt32(id)] ?? [])
            let missing = wanted.filter { !have.contains($0) }
            guard !missing.isEmpty else { return nil }
            return ViewJob(item: UInt32(id), url: dataset.url(of: items[id]), key: items[id].path, views: missing.map { Int($0.view) })
        }
        summary.alreadyDone = shardIDs.count - jobs.count
        if jobs.isEmpty, let job = try store.job(ext: ext, ds: ds, split: split), job.status == "complete" {
            summary.wasComplete = true
            summary.failures = try failures(store: store, ext: ext, ds: ds, split: split, items: items)
            return summary
        }
        let writer = try FeatureWriter(store: store, ext: ext, ds: ds, split: split, recipe: recipe, augmentedViews: K,
                                       dtype: settings.dtype, batchItems: settings.commitEvery,
                                       commitSeconds: settings.commitSeconds)
        let start = DispatchTime.now().uptimeNanoseconds
        let label = "\(dataset.name) \(split)" + (settings.shard.count > 1 ? " shard \(settings.shard)" : "")
        let progress = showsProgress ? ProgressReporter(label: label, total: shardIDs.count, interval: settings.progressInterval) : nil

        let B = settings.batch, R = encoder.imageSize, D = encoder.embedDim, plane = 3 * R * R
        let maxViews = K + 1
        let pipeline = DecodePipeline(jobs: jobs, threads: settings.decodeThreads,
                                      capacity: max(2 * settings.decodeThreads, (2 * B + maxViews - 1) / maxViews),
                                      prepare: renderer.render)
        let batchPixels = Tensor(shape: [B, 3, R, R])                 // [B, 3, R, R]
        var slots: [(entry: Int, view: Int)] = []                      // batch slot → (entry, view)
        slots.reserveCapacity(B)
        var entries: [PendingItem?] = []
        var head = 0

        // An image's features do not depend on the batch it runs in (each row computed alone: `ProductScratch`), so a
        // resumed run, shards merged, or any --batch and --threads store the same bits as one
        // uninterrupted run; a short last batch runs as it is.
        func encodeBatch() {
            guard !slots.isEmpty else { return }
            let features = encoder.encode(pixels: batchPixels.data, batch: slots.count)   // [n, D]
            for (s, slot) in slots.enumerated() {
                let entry = entries[slot.entry]!
                entry.features.withUnsafeMutableBufferPointer {
                    ($0.baseAddress! + slot.view * D).update(from: features.data + s * D, count: D)
                }
                entry.remaining -= 1
            }
            summary.images += slots.count
            slots.removeAll(keepingCapacity: true)
        }
        func writeCompleted() throws {
            while head < entries.count, let entry = entries[head], entry.remaining == 0 {
                if let error = entry.error {
                    try writer.addFailure(item: entry.item, error: error)
                } else {
                    try writer.add(item: entry.item, features: entry.features,
                                   views: entry.views.map { $0 == 0 ? .eval : ViewKey(recipe: recipe!, view: UInt16($0)) })
                }
                entries[head] = nil
                head += 1
                summary.indexed += 1
            }
        }

        while let prepared = pipeline.next() {
            if let error = prepared.error, settings.strict {
                encodeBatch()
                try writeCompleted()
                try writer.commit()
                throw IndexingError("\(error) (--strict: stopped at \(split) item \(prepared.job.item); items before it are stored; rerun without --strict to record it as a failure and go on)")
            }
            let entry = PendingItem(prepared, dim: D)
            entries.append(entry)
            if let pixels = prepared.pixels {
                for v in 0..<prepared.job.views.count {
                    (batchPixels.data + slots.count * plane).update(from: pixels.data + v * plane, count: plane)
                    slots.append((entries.count - 1, v))
                    if slots.count == B {
                        encodeBatch()
                        try writeCompleted()
                    }
                }
            }
            try writeCompleted()
            progress?.update(done: summary.alreadyDone + summary.indexed, detail: imagesDetail(summary.images, progress))
        }
        encodeBatch()
        try writeCompleted()
        try writer.finish()
        summary.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        progress?.finish(done: summary.alreadyDone + summary.indexed, detail: imagesDetail(summary.images, progress))
        summary.failures = try failures(store: store, ext: ext, ds: ds, split: split, items: items)
        return summary
    }

    private func failures(store: FeatureStore, ext: ExtractorID, ds: DatasetID, split: Split,
                          items: [DatasetItem]) throws -> [IndexFailure] {
        try store.failures(ext: ext, ds: ds, split: split).map {
            IndexFailure(item: $0.item, path: Int($0.item) < items.count ? items[Int($0.item)].path : "?", error: $0.error)
        }
    }

    /// "N views, X images/s" for the progress line.
    private func imagesDetail(_ images: Int, _ progress: ProgressReporter?) -> String {
        let t = progress?.elapsed ?? 0
        return String(format: "%d views, %.1f images/s", images, t > 0 ? Double(images) / t : 0)
    }
}

/// An item between decoding and the store: its encoded views fill `features` ([views, dim]) as
/// the batches containing them run; written once `remaining` reaches 0.
private final class PendingItem {
    let item: UInt32
    /// The view indices being encoded (0: eval), in the order of `features`' rows.
    let views: [Int]
    let error: String?
    var features: [Float]
    var remaining: Int

    init(_ prepared: PreparedViews, dim: Int) {
        item = prepared.job.item
        error = prepared.error
        views = prepared.error == nil ? prepared.job.views : []
        features = [Float](repeating: 0, count: views.count * dim)
        remaining = views.count
    }
}
