import CLIP
import Datasets
import FeatureCache
import Foundation
import Indexing
import PromptLearning
import SyntheticShapes

/// The embedded demo end to end, in-process: generate the synthetic dataset, index it with the
/// demo CLIP (train views augmented), then zero-shot, prompt ensembling, linear probe, CoOp at
/// several shot counts, and base-to-new with zero-shot / CoOp / CoCoOp, plus the learned
/// context's nearest words. Re-running reuses the generated images and the (complete) index.
public final class DemoRunner {
    public let modelDirectory: URL
    public let workDirectory: URL
    public let plan: DemoPlan
    /// Progress and table lines (the CLI prints them; tests stay quiet).
    public var log: (String) -> Void = { _ in }
    public var showsProgress = false

    public init(modelDirectory: URL, workDirectory: URL, plan: DemoPlan) {
        self.modelDirectory = modelDirectory; self.workDirectory = workDirectory; self.plan = plan
    }

    public func run() throws -> DemoResults {
        var seconds: [String: Double] = [:]
        func timed<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
            let start = Date()
            defer { seconds[name] = Date().timeIntervalSince(start) }
            return try body()
        }
        guard let spec = DemoDataset.standard.first(where: { $0.name == plan.dataset }) else {
            throw PromptError.invalid("the demo has no dataset \(plan.dataset)")
        }
        let dataRoot = workDirectory.appendingPathComponent("data")
        let datasetRoot = dataRoot.appendingPathComponent(spec.name)
        try timed("generate") {
            if !FileManager.default.fileExists(atPath: datasetRoot.appendingPathComponent("split.json").path) {
                log("generating \(spec.name) (\(spec.classes.count) classes) …")
                try spec.write(into: dataRoot, seed: plan.seed, threads: 2)
            }
        }
        let storePath = workDirectory.appendingPathComponent("store").path
        let summary = try timed("index") {
            var settings = IndexSettings(modelDirectory: modelDirectory, datasetName: "split-json", dataRoot: datasetRoot, storePath: storePath)
            settings.augmentedViews = plan.augmentedViews
            settings.seed = plan.seed
            settings.precision = plan.precision
            let summary = try Indexer(settings: settings, showsProgress: showsProgress).run()
            log(summary.text)
            return summary
        }
        let model = try CLIPModel(directory: modelDirectory, loadImageTower: false)
        let store = try FeatureStore(path: storePath)
        let cached = try CachedDataset(store: store, model: .fingerprint(model.directory.fingerprint.hex), datasetName: spec.name,
                                       extractorID: summary.ext.description)
        let all = try cached.evaluation(.test, classes: .all)

        // baselines on all classes
        let template = cached.dataset.templates.zeroShot
        let zeroShot = try timed("zero-shot") {
            EvaluationResult(classifier: try TextClassifier.zeroShot(model: model, classnames: all.classnames, templates: [template]),
                             data: all.features)
        }
        let ensembleTemplates = cached.dataset.templates.ensemble
        let ensemble = try timed("ensemble") {
            EvaluationResult(classifier: try TextClassifier.zeroShot(model: model, classnames: all.classnames, templates: ensembleTemplates),
                             data: all.features)
        }
        log(String(format: "zero-shot \"%@\": %.1f%%   prompt ensemble (%d templates): %.1f%%",
                   template, zeroShot.accuracy, ensembleTemplates.count, ensemble.accuracy))

        // few-shot: linear probe and CoOp
        let prompts = workDirectory.appendingPathComponent("prompts")
        try? FileManager.default.removeItem(at: prompts)
        try FileManager.default.createDirectory(at: prompts, withIntermediateDirectories: true)
        var fewShot: [DemoResults.FewShotRow] = []
        var lastCoOp: URL?
        for shots in plan.shots {
            let task = try cached.task(shots: shots, seed: Int(plan.seed), classes: .all)
            let probe = !plan.linearProbe ? nil : timed("probe-\(shots)") {
                EvaluationResult(classifier: LinearProbe.fit(train: task.train, val: task.val, classes: task.classnames.count), data: task.test).accuracy
            }
            let url = prompts.appendingPathComponent("coop-\(shots)shot.safetensors")
            let outcome = try timed("coop-\(shots)") {
                try Tuning.run(model: model, data: cached, request: request(.coop, shots: shots, classes: .all, plan.coop, url))
            }
            lastCoOp = url
            fewShot.append(.init(shots: shots, linearProbe: probe, coop: outcome.test.accuracy, coopLoss: outcome.log.map(\.loss)))
            log(String(format: "%2d shots: %@CoOp %.1f%%   (CoOp %d epochs, %.1f s)", shots,
                       probe.map { String(format: "linear probe %.1f%%   ", $0) } ?? "", outcome.test.accuracy, outcome.log.count,
                       outcome.trainSeconds))
        }

        // base-to-new: train on the base half of the classes (the first half of the shapes), test on both halves
        let base = try cached.evaluation(.test, classes: .base)
        let new = try cached.evaluation(.test, classes: .new)
        func zeroShotOn(_ t: (classnames: [String], features: FeatureSet)) throws -> Double {
            EvaluationResult(classifier: try TextClassifier.zeroShot(model: model, classnames: t.classnames, templates: [template]),
                             data: t.features).accuracy
        }
        var rows = [row("zero-shot CLIP", try zeroShotOn(base), try zeroShotOn(new))]
        var cocoopLoss: [Double] = []
        for (method, h) in [(PromptMethod.coop, plan.coop), (.cocoop, plan.cocoop)] {
            let url = prompts.appendingPathComponent("\(method.rawValue)-base.safetensors")
            let outcome = try timed("\(method.rawValue)-base") {
                try Tuning.run(model: model, data: cached, request: request(method, shots: plan.baseToNewShots, classes: .base, h, url))
            }
            if method == .cocoop { cocoopLoss = outcome.log.map(\.loss) }
            rows.append(row(method == .coop ? "CoOp" : "CoCoOp", outcome.test.accuracy, outcome.newClasses?.accuracy ?? 0))
        }
        for r in rows {
            log(r.method.padding(toLength: 15, withPad: " ", startingAt: 0) + String(format: " base %.1f%%  new %.1f%%  H %.1f%%", r.base, r.new, r.harmonic))
        }

        let words = try lastCoOp.map { url -> [[NearestWords.Match]] in
            let checkpoint = try PromptCheckpoint.read(from: url)
            return try NearestWords.search(context: checkpoint.tensor("ctx")!, model: model, top: plan.nearestWords)
        } ?? []
        return DemoResults(plan: plan, classes: all.classnames.count, testImages: all.features.count, zeroShot: zeroShot.accuracy,
                           zeroShotTemplate: template, ensemble: ensemble.accuracy, ensembleTemplates: ensembleTemplates.count,
                           fewShot: fewShot, baseToNew: rows, cocoopLoss: cocoopLoss, nearestWords: words, seconds: seconds)
    }

    private func request(_ method: PromptMethod, shots: Int, classes: ClassSubset, _ h: Hyperparameters, _ url: URL) -> TuningRequest {
        TuningRequest(method: method, shots: shots, seed: Int(plan.seed), classes: classes, hyperparameters: h, checkpoint: url, force: true)
    }

    private func row(_ method: String, _ base: Double, _ new: Double) -> DemoResults.BaseToNewRow {
        .init(method: method, base: base, new: new, harmonic: harmonicMean(base, new))
    }
}
