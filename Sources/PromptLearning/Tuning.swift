import CLIP
import Datasets
import Dispatch
import FeatureCache
import Foundation
import Kernels

/// One tuning run as the user asked for it.
public struct TuningRequest {
    public var method: PromptMethod
    public var shots: Int?
    public var seed: Int
    public var classes: ClassSubset
    public var hyperparameters: Hyperparameters
    /// Where the prompt checkpoint is written (atomically, after every epoch).
    public var checkpoint: URL
    /// Continue an interrupted run from its checkpoint.
    public var resume: Bool
    /// Start over even when the checkpoint exists.
    public var force: Bool
    /// The recipe of the augmented training views (8 hex digits; nil: the only one stored).
    public var recipe: String?
    /// Train on view 0 of items that have no augmented views instead of refusing.
    public var allowUnaugmented: Bool

    public init(method: PromptMethod, shots: Int?, seed: Int, classes: ClassSubset, hyperparameters: Hyperparameters,
                checkpoint: URL, resume: Bool = false, force: Bool = false, recipe: String? = nil, allowUnaugmented: Bool = false) {
        self.method = method; self.shots = shots; self.seed = seed; self.classes = classes
        self.hyperparameters = hyperparameters; self.checkpoint = checkpoint; self.resume = resume; self.force = force
        self.recipe = recipe; self.allowUnaugmented = allowUnaugmented
    }
}

/// What a finished run reports (also written as `<checkpoint stem>.json`).
public struct TuningOutcome: Codable {
    public var method: String
    public var dataset: String
    public var shots: Int?
    public var seed: Int
    public var classes: String
    public var classCount: Int
    public var trainItems: Int
    /// The training views read (recipe, items with and without augmented views, stored draw).
    public var trainingViews: TrainingViews
    /// What selection on validation data picked, and on which data (the adapters that select).
    public var selection: SelectionReport?
    public var test: EvaluationResult
    /// Base-to-new: after training on the base classes, the same prompt on the new classes.
    public var newClasses: EvaluationResult?
    /// Harmonic mean of base and new accuracy (base-to-new runs).
    public var harmonicMean: Double?
    public var log: [EpochLog]
    public var checkpoint: String
    public var trainSeconds: Double
}

/// Runs any method's training from the cache and evaluates on the test split: the engine behind
/// `cocoon tune`, `reproduce` and the demo. It reaches the method only through its
/// `MethodDefinition` and `MethodRun`; writes the checkpoint (after every epoch where the run
/// asks), then results as JSON, the epoch log as CSV and the curves as SVG next to it.
public enum Tuning {
    public static func run(model: CLIPModel, data: CachedDataset, request r: TuningRequest,
                           progress: ((_ epoch: Int, _ epochs: Int, _ batch: Int, _ batches: Int, _ loss: Double, _ accuracy: Double) -> Void)? = nil)
        throws -> TuningOutcome {
        let method = r.method.definition
        var h = r.hyperparameters
        h.seed = UInt64(r.seed)
        if r.classes != .all && !method.transfersToOtherClasses {
            throw PromptError.invalid("\(method.displayName) learns per-class state that does not carry to unseen classes; train it on --classes all")
        }
        let selectOnTest = h.selectOnTest == true
        let selectionKind = method.selection(shots: r.shots)
        let task = try data.task(shots: r.shots, seed: r.seed, classes: r.classes,
                                 recipe: RecipeChoice(recipe: r.recipe, cropScale: method.officialCropScale),
                                 selection: selectOnTest ? nil : selectionKind,
                                 allowUnaugmented: r.allowUnaugmented || !method.trainsOnAugmentedViews)
        let recipe = PromptRecipe(method: r.method.rawValue, classnames: task.classnames, modelFingerprint: model.directory.fingerprint.hex,
                                  modelDirectory: model.directory.url.path, store: data.store.path, dataset: task.datasetName,
                                  shots: r.shots, classes: r.classes.rawValue, extractor: data.ext.description, hyperparameters: h,
                                  precision: model.text.precision == .bf16 ? .bf16 : nil)
        let context = MethodContext(model: model, classnames: task.classnames, dataset: task.datasetName, hyperparameters: h)
        // The official code's test-selected behaviour only when asked for by name (`--select-on-test`).
        let selection = selectionKind == nil ? nil
            : selectOnTest ? SelectionSet(features: task.test, source: SelectionSource(split: "test", items: task.test.count, perClass: nil))
            : task.selection
        var input = TrainingInput(context: context, train: task.train, selection: selection.map { LabeledFeatures($0.features) },
                                  selectionSource: selection?.source, rawTrain: { try data.rawTrain(task) })
        input.validation = task.val
        let exists = FileManager.default.fileExists(atPath: r.checkpoint.path)
        let run: MethodRun
        if exists && r.resume {
            let saved = try PromptCheckpoint.read(from: r.checkpoint)
            guard saved.recipe == recipe else {
                throw PromptError.invalid("\(r.checkpoint.path) was made by a different run (method, data, classes, hyper-parameters or precision differ); drop --resume or pass another --out")
            }
            run = try method.resume(saved, input: input)
        } else {
            if exists && !r.force {
                throw PromptError.invalid("\(r.checkpoint.path) exists; pass --resume to continue that run or --force to start over")
            }
            var random = TrainingRandom(seed: h.seed)
            run = try method.start(input, random: &random)
        }
        let start = DispatchTime.now().uptimeNanoseconds
        var written = exists && r.resume && run.finished
        while !run.finished {
            let epoch = run.epochsDone + 1
            run.runEpoch { batch, batches, loss, accuracy in
                progress?(epoch, h.epochs, batch, batches, loss, accuracy)
            }
            written = false
            if run.checkpointsEveryEpoch || run.finished {
                try PromptCheckpoint(recipe: recipe, state: run.state()).write(to: r.checkpoint)
                written = true
            }
        }
        if !written { try PromptCheckpoint(recipe: recipe, state: run.state()).write(to: r.checkpoint) }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let test = EvaluationResult(classifier: run.classifier, data: task.test)
        var newClasses: EvaluationResult?
        if r.classes == .base {
            let new = try data.evaluation(.test, classes: .new)
            let saved = try PromptCheckpoint.read(from: r.checkpoint)
            newClasses = EvaluationResult(classifier: try saved.classifier(model: model, classnames: new.classnames), data: new.features)
        }
        let outcome = TuningOutcome(method: r.method.rawValue, dataset: task.datasetName, shots: r.shots, seed: r.seed,
                                    classes: r.classes.rawValue, classCount: task.classnames.count, trainItems: task.train.count,
                                    trainingViews: task.views, selection: run.selected, test: test, newClasses: newClasses,
                                    harmonicMean: newClasses.map { PromptLearning.harmonicMean(test.accuracy, $0.accuracy) },
                                    log: run.log, checkpoint: r.checkpoint.path, trainSeconds: seconds)
        try writeReports(outcome, next: r.checkpoint)
        return outcome
    }

    /// `<stem>.json` (outcome), `<stem>.log.csv` (epochs) and `<stem>.curves.svg` beside the checkpoint.
    static func writeReports(_ o: TuningOutcome, next checkpoint: URL) throws {
        let stem = checkpoint.deletingPathExtension()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(o).write(to: stem.appendingPathExtension("json"), options: .atomic)
        var csv = "epoch,learning_rate,loss,train_accuracy,seconds\n"
        for e in o.log { csv += "\(e.epoch),\(e.learningRate),\(e.loss),\(e.accuracy),\(e.seconds)\n" }
        try csv.write(to: URL(fileURLWithPath: stem.path + ".log.csv"), atomically: true, encoding: .utf8)
        let svg = SVGChart.lines(title: "\(o.method) on \(o.dataset): training loss", xLabel: "epoch", yLabel: "loss",
                                 series: [SVGChart.Series(name: "loss", points: o.log.map { (Double($0.epoch), $0.loss) })])
        try svg.write(to: URL(fileURLWithPath: stem.path + ".curves.svg"), atomically: true, encoding: .utf8)
    }
}

/// Mean and sample standard deviation over seeds, as the papers report few-shot results.
public struct SeedSummary: Codable {
    public var seeds: [Int]
    public var accuracyMean: Double
    public var accuracyStd: Double
    public var macroF1Mean: Double
    public var macroF1Std: Double
    public var newAccuracyMean: Double?
    public var harmonicMeanMean: Double?

    public init(_ outcomes: [TuningOutcome]) {
        func meanStd(_ v: [Double]) -> (Double, Double) {
            let s = SeedMean(v)
            return (s.mean, s.std ?? 0)
        }
        seeds = outcomes.map(\.seed)
        (accuracyMean, accuracyStd) = meanStd(outcomes.map(\.test.accuracy))
        (macroF1Mean, macroF1Std) = meanStd(outcomes.map(\.test.macroF1))
        let news = outcomes.compactMap(\.newClasses?.accuracy)
        newAccuracyMean = news.count == outcomes.count && !news.isEmpty ? meanStd(news).0 : nil
        let hs = outcomes.compactMap(\.harmonicMean)
        harmonicMeanMean = hs.count == outcomes.count && !hs.isEmpty ? meanStd(hs).0 : nil
    }
}
