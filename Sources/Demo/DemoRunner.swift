import CLIP
import DatasetNames
import Datasets
import FeatureCache
import Foundation
import Indexing
import Kernels
import PromptLearning
import SyntheticShapes

/// The embedded demo end to end, in-process: generate the synthetic datasets, index them with the
/// demo CLIP (source train views augmented with both recipes, Dassl's and the few-shot adapters',
/// target test only), then for every seed the papers' three protocols from the cache — few-shot
/// (linear probe, CoOp, Tip-Adapter and Tip-Adapter-F per shot count), base-to-new (zero-shot,
/// CoOp, CoCoOp, KgCoOp, ProGrad) and domain generalisation (source prompts on the target) — plus the
/// learned context's nearest words and the images CoOp fixes and breaks. Re-running reuses the
/// generated images and the (complete) index.
public final class DemoRunner {
    public let modelDirectory: URL
    public let workDirectory: URL
    public let plan: DemoPlan
    /// Progress and table lines (the CLI prints them; tests stay quiet).
    public var log: (String) -> Void = { _ in }
    public var showsProgress = false

    /// Where the generated datasets are (`<name>/split.json` and PNGs); the report copies pictures from here.
    public var dataRoot: URL { workDirectory.appendingPathComponent("data") }

    public init(modelDirectory: URL, workDirectory: URL, plan: DemoPlan) {
        self.modelDirectory = modelDirectory; self.workDirectory = workDirectory; self.plan = plan
    }

    private var seconds: [String: Double] = [:]

    private func timed<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        let start = Date()
        defer { seconds[name, default: 0] += Date().timeIntervalSince(start) }
        return try body()
    }

    public func run() throws -> DemoResults {
        seconds = [:]
        let source = try Self.dataset(plan.dataset), target = try Self.dataset(plan.targetDataset)
        let storePath = workDirectory.appendingPathComponent("store").path
        let sourceExtractor = try prepare(source, splits: [.train, .val, .test], storePath: storePath)
        let targetExtractor = try prepare(target, splits: [.test], storePath: storePath)
        let model = try CLIPModel(directory: modelDirectory, loadImageTower: false)
        let store = try FeatureStore(path: storePath)
        let reference = ModelReference.fingerprint(model.directory.fingerprint.hex)
        let src = try CachedDataset(store: store, model: reference, datasetName: source.name, extractorID: sourceExtractor)
        let tgt = try CachedDataset(store: store, model: reference, datasetName: target.name, extractorID: targetExtractor)
        let all = try src.evaluation(.test, classes: .all)
        let targetTest = try tgt.evaluation(.test, classes: .all).features

        // Zero-shot baselines (no seed).
        let template = src.dataset.templates.zeroShot, ensembleTemplates = src.dataset.templates.ensemble
        let zeroShot = try timed("zero-shot") {
            try ZeroShotMethod.classifier(for: MethodContext(model: model, classnames: all.classnames, dataset: source.name,
                                                             hyperparameters: .baseline(templates: [template])))
        }
        let zeroShotAll = EvaluationResult(classifier: zeroShot, data: all.features).accuracy
        let ensemble = try timed("zero-shot") {
            try Scoring.zeroShot(model: model, data: src, split: .test, classes: .all, templates: ensembleTemplates).accuracy
        }
        log(String(format: "zero-shot \"%@\": %.1f%%   prompt ensemble (%d templates): %.1f%%", template, zeroShotAll,
                   ensembleTemplates.count, ensemble))
        let zeroShotBase = try Scoring.zeroShot(model: model, data: src, split: .test, classes: .base, templates: [template]).accuracy
        let zeroShotNew = try Scoring.zeroShot(model: model, data: src, split: .test, classes: .new, templates: [template]).accuracy
        let zeroShotTarget = EvaluationResult(classifier: zeroShot, data: targetTest).accuracy

        let prompts = workDirectory.appendingPathComponent("prompts")
        try? FileManager.default.removeItem(at: prompts)
        try FileManager.default.createDirectory(at: prompts, withIntermediateDirectories: true)
        let mostShots = plan.shots.max() ?? plan.baseToNewShots

        // Every training run of every seed, longest first, on `lanes` threads (OpenBLAS
        // single-threaded in each); a run's numbers depend only on its seed and settings.
        let jobs = plan.seeds.flatMap { seed in
            plan.shots.map { DemoJob.fewShot(seed: seed, shots: $0) } + PromptMethod.promptLearners.map { .baseToNew(seed: seed, method: $0) }
        }.sorted { cost($0, classes: all.classnames.count) > cost($1, classes: all.classnames.count) }
        let results = try runConcurrently(jobs) { job -> DemoJobResult in
            switch job {
            case .fewShot(let seed, let shots):
                // Linear probe and CoOp; at the most shots both are also scored on the target domain.
                var result = DemoJobResult()
                if plan.linearProbe {
                    let task = try src.task(shots: shots, seed: seed, classes: .all, recipe: .cropScale(CoOpMethod.officialCropScale), allowUnaugmented: true)
                    let fitted = try Scoring.linearProbe(model: model, task: task)
                    result.probe = EvaluationResult(classifier: fitted, data: task.test).accuracy
                    if shots == mostShots { result.probeTarget = EvaluationResult(classifier: fitted, data: targetTest).accuracy }
                }
                let url = prompts.appendingPathComponent("coop-\(shots)shot-seed\(seed).safetensors")
                let outcome = try Tuning.run(model: model, data: src, request: request(.coop, shots: shots, seed: seed, classes: .all,
                                                                                       plan.coop(shots: shots), url))
                result.accuracy = outcome.test.accuracy
                result.loss = outcome.log.map(\.loss)
                if shots == mostShots {
                    result.target = try Scoring.prompt(try PromptCheckpoint.read(from: url), model: model, data: tgt, split: .test,
                                                       classes: .all).accuracy
                }
                // The few-shot adapters on the same draw, each with its official recipe and defaults.
                var adapterText = ""
                for method in plan.fewShotAdapters {
                    let url = prompts.appendingPathComponent("\(method.rawValue)-\(shots)shot-seed\(seed).safetensors")
                    let adapted = try Tuning.run(model: model, data: src, request: request(method, shots: shots, seed: seed, classes: .all,
                                                                                           plan.adapter(method, shots: shots), url))
                    result.adapters[method] = adapted.test.accuracy
                    adapterText += String(format: "   %@ %.1f%%", method.displayName, adapted.test.accuracy)
                }
                log(String(format: "seed %d, %2d shots: %@CoOp %.1f%%%@   (%d epochs, %.1f s)", seed, shots,
                           result.probe.map { String(format: "linear probe %.1f%%   ", $0) } ?? "", outcome.test.accuracy,
                           adapterText, outcome.log.count, outcome.trainSeconds))
                return result
            case .baseToNew(let seed, let method):
                // Trained on the base half (the first four shapes), tested on both halves.
                let url = prompts.appendingPathComponent("\(method.rawValue)-base-seed\(seed).safetensors")
                let h = plan.baseToNew(method)
                let outcome = try Tuning.run(model: model, data: src, request: request(method, shots: plan.baseToNewShots, seed: seed,
                                                                                       classes: .base, h, url))
                log(String(format: "seed %d, base-to-new %@: base %.1f%%  new %.1f%%   (%d epochs, %.1f s)", seed, job.methodName,
                           outcome.test.accuracy, outcome.newClasses?.accuracy ?? 0, outcome.log.count, outcome.trainSeconds))
                return DemoJobResult(accuracy: outcome.test.accuracy, new: outcome.newClasses?.accuracy, loss: outcome.log.map(\.loss))
            }
        }
        func values(_ job: (Int) -> DemoJob, _ value: (DemoJobResult) -> Double?) -> [Double] {
            plan.seeds.compactMap { results[job($0)].flatMap(value) }
        }
        let firstSeed = plan.seeds[0]

        let firstCoOp = prompts.appendingPathComponent("coop-\(mostShots)shot-seed\(firstSeed).safetensors")
        let checkpoint = try PromptCheckpoint.read(from: firstCoOp)
        let words = try NearestWords.search(context: checkpoint.tensor("ctx")!, model: model, top: plan.nearestWords)
        let learned = try checkpoint.classifier(model: model, classnames: all.classnames)
        let (fixed, broken) = try examples(source, src, zeroShot: zeroShot, learned: learned)

        let fewShot = plan.shots.map { shots -> DemoResults.FewShotRow in
            let coop = values({ .fewShot(seed: $0, shots: shots) }, \.accuracy)
            let probe = plan.linearProbe ? values({ .fewShot(seed: $0, shots: shots) }, \.probe) : nil
            let adapters = plan.fewShotAdapters.map { method -> DemoResults.MethodEntry in
                let bySeed = values({ .fewShot(seed: $0, shots: shots) }, { $0.adapters[method] })
                return DemoResults.MethodEntry(method: method.displayName, accuracy: SeedMean(bySeed), bySeed: bySeed)
            }
            return DemoResults.FewShotRow(shots: shots, linearProbe: probe.map(SeedMean.init), coop: SeedMean(coop), coopBySeed: coop,
                                          probeBySeed: probe, coopLoss: results[.fewShot(seed: firstSeed, shots: shots)]!.loss,
                                          adapters: adapters)
        }
        var baseToNew = [DemoResults.BaseToNewRow(method: "zero-shot CLIP", base: SeedMean([zeroShotBase]), new: SeedMean([zeroShotNew]),
                                                  harmonic: harmonicMean(zeroShotBase, zeroShotNew))]
        for method in PromptMethod.promptLearners {
            let job = { DemoJob.baseToNew(seed: $0, method: method) }
            let (base, new) = (SeedMean(values(job, \.accuracy)), SeedMean(values(job, \.new)))
            baseToNew.append(.init(method: job(firstSeed).methodName, base: base, new: new, harmonic: harmonicMean(base.mean, new.mean)))
        }
        let mostShotsJob = { DemoJob.fewShot(seed: $0, shots: mostShots) }
        var domain = [DemoResults.DomainRow(method: "zero-shot CLIP", source: SeedMean([zeroShotAll]), target: SeedMean([zeroShotTarget]))]
        if plan.linearProbe {
            domain.append(.init(method: "linear probe", source: SeedMean(values(mostShotsJob, \.probe)),
                                target: SeedMean(values(mostShotsJob, \.probeTarget))))
        }
        domain.append(.init(method: "CoOp", source: SeedMean(values(mostShotsJob, \.accuracy)),
                            target: SeedMean(values(mostShotsJob, \.target))))
        let cocoopLoss = results[.baseToNew(seed: firstSeed, method: .cocoop)]!.loss
        return DemoResults(plan: plan, classes: all.classnames.count, testImages: all.features.count, zeroShot: zeroShotAll,
                           zeroShotTemplate: template, ensemble: ensemble, ensembleTemplates: ensembleTemplates.count,
                           fewShot: fewShot, baseToNew: baseToNew, domainGeneralisation: domain,
                           samples: samples([source, target]), fixed: fixed, broken: broken, cocoopLoss: cocoopLoss,
                           nearestWords: words, seconds: seconds)
    }

    static func dataset(_ name: String) throws -> DemoDataset {
        guard let spec = DemoDataset.standard.first(where: { $0.name == name }) else {
            throw PromptError.invalid("the demo has no dataset \(name); it has \(DemoDataset.standard.map(\.name).joined(separator: ", "))")
        }
        return spec
    }

    /// Generates `spec` if its folder is not complete, indexes `splits` and returns the extractor id.
    private func prepare(_ spec: DemoDataset, splits: [Split], storePath: String) throws -> String {
        let folder = dataRoot.appendingPathComponent(spec.name)
        try timed("generate") {
            if !FileManager.default.fileExists(atPath: folder.appendingPathComponent("split.json").path) {
                log("generating \(spec.name) (\(spec.classes.count) classes) …")
                try spec.write(into: dataRoot, seed: plan.worldSeed, threads: 2)
            }
        }
        return try timed("index") {
            var settings = IndexSettings(modelDirectory: modelDirectory, datasetName: "split-json", dataRoot: folder, storePath: storePath)
            settings.splits = splits
            settings.augmentedViews = splits.contains(.train) ? plan.augmentedViews : 0
            settings.seed = plan.worldSeed
            settings.precision = plan.precision
            let summary = try Indexer(settings: settings, showsProgress: showsProgress).run()
            log(summary.text)
            // The few-shot adapters' own recipe (crop scale 0.5–1): train views only.
            if splits.contains(.train) && !plan.fewShotAdapters.isEmpty {
                settings.splits = [.train]
                settings.augmentedViews = plan.adapterViews
                settings.cropScale = TipAdapterMethod.officialCropScale
                log(try Indexer(settings: settings, showsProgress: showsProgress).run().text)
            }
            return summary.ext.description
        }
    }

    /// Prompt passes through the text encoder (one per class per batch for CoOp, per class per
    /// image for CoCoOp): the order in which `run` schedules the jobs.
    private func cost(_ job: DemoJob, classes: Int) -> Int {
        func passes(_ h: Hyperparameters, images: Int, classes: Int, perImage: Bool) -> Int {
            h.epochs * (images + h.batchSize - 1) / h.batchSize * classes * (perImage ? h.batchSize : 1)
        }
        let base = (classes + 1) / 2
        switch job {
        case .fewShot(_, let shots): return passes(plan.coop(shots: shots), images: shots * classes, classes: classes, perImage: false)
        case .baseToNew(_, let method):
            let passes = passes(plan.baseToNew(method), images: plan.baseToNewShots * base, classes: base, perImage: method == .cocoop)
            return method == .prograd ? 2 * passes : passes      // ProGrad's two backward passes
        }
    }

    /// Runs `body` for every job on `Threads.current` lanes (each pulls the next job in order)
    /// and returns the results by job; the first error stops the lanes and is rethrown.
    private func runConcurrently(_ jobs: [DemoJob], _ body: (DemoJob) throws -> DemoJobResult) throws -> [DemoJob: DemoJobResult] {
        let lock = NSLock()
        var next = 0, results: [DemoJob: DemoJobResult] = [:], failure: Error?
        let start = Date()
        Parallel.slices(Threads.current, lanes: Threads.current) { _, _ in
            while true {
                lock.lock()
                guard failure == nil, next < jobs.count else { lock.unlock(); return }
                let job = jobs[next]
                next += 1
                lock.unlock()
                do {
                    let result = try body(job)
                    lock.lock(); results[job] = result; lock.unlock()
                } catch {
                    lock.lock(); failure = failure ?? error; lock.unlock()
                }
            }
        }
        seconds["training"] = Date().timeIntervalSince(start)
        if let failure { throw failure }
        return results
    }

    private func request(_ method: PromptMethod, shots: Int, seed: Int, classes: ClassSubset, _ h: Hyperparameters,
                         _ url: URL) -> TuningRequest {
        TuningRequest(method: method, shots: shots, seed: seed, classes: classes, hyperparameters: h, checkpoint: url, force: true)
    }

    /// Up to `plan.examples` source test images that `learned` gets right and zero-shot wrong, and
    /// the other way round, of different classes: the classes' first images are tried first, then
    /// their second ones, and so on.
    private func examples(_ spec: DemoDataset, _ data: CachedDataset, zeroShot: Classifier, learned: Classifier) throws
        -> (fixed: [DemoResults.Picture], broken: [DemoResults.Picture]) {
        var fixed: [DemoResults.Picture] = [], broken: [DemoResults.Picture] = []
        let items = data.dataset.test
        let names = data.dataset.classnames
        let perClass = max(1, items.count / max(1, names.count))
        let order = items.indices.sorted { ($0 % perClass, $0) < ($1 % perClass, $1) }
        for index in order where fixed.count < plan.examples || broken.count < plan.examples {
            let item = items[index]
            let features = try data.features(.test, [item]).evaluationFeatures()
            let z = Predictions.argmax(zeroShot.logits(images: features))[0]
            let l = Predictions.argmax(learned.logits(images: features))[0]
            guard (z == item.label) != (l == item.label) else { continue }
            var picture = self.picture(spec, split: "test", index: index)
            picture.zeroShot = names[z]
            picture.coop = names[l]
            if l == item.label, fixed.count < plan.examples, !fixed.contains(where: { $0.truth == picture.truth }) {
                fixed.append(picture)
            } else if z == item.label, broken.count < plan.examples, !broken.contains(where: { $0.truth == picture.truth }) {
                broken.append(picture)
            }
        }
        return (fixed, broken)
    }

    /// One picture per shape (colours in turn) of every split of `specs` that was generated.
    private func samples(_ specs: [DemoDataset]) -> [DemoResults.SampleRow] {
        specs.flatMap { spec in
            DemoDataset.splits.map { split in
                let perClass = spec.items(split).count / spec.classes.count
                let colours = spec.palette.count
                let pictures = (0..<min(plan.examples, spec.classes.count)).map { k -> DemoResults.Picture in
                    let label = (k * colours + k % colours) % spec.classes.count
                    return picture(spec, split: split, index: label * perClass + k % perClass)
                }
                return DemoResults.SampleRow(dataset: spec.name, split: split, pictures: pictures)
            }
        }
    }

    private func picture(_ spec: DemoDataset, split: String, index: Int) -> DemoResults.Picture {
        let item = spec.items(split)[index]
        let scene = spec.scene(split: split, index: index, seed: plan.worldSeed)
        return DemoResults.Picture(file: "images/\(spec.name)/\(item.path)", truth: item.classname,
                                   labelledPart: spec.labelledPart(scene).rawValue, zeroShot: nil, coop: nil)
    }
}

/// One training run of the demo.
enum DemoJob: Hashable {
    case fewShot(seed: Int, shots: Int)
    case baseToNew(seed: Int, method: PromptMethod)

    var methodName: String {
        guard case .baseToNew(_, let method) = self else { return "CoOp" }
        return method.displayName
    }
}

/// What a run measured: test accuracy (base classes for base-to-new), new-class accuracy, the
/// target domain's accuracy, the linear probe's (few-shot runs) and the loss per epoch.
struct DemoJobResult {
    var accuracy = 0.0
    var new: Double?
    var target: Double?
    var probe: Double?
    var probeTarget: Double?
    var loss: [Double] = []
    /// Test accuracy of each few-shot adapter (few-shot runs).
    var adapters: [PromptMethod: Double] = [:]
}
