import ArgumentParser
import CLIP
import Foundation
import Indexing
import Kernels
import PromptLearning

/// `cocoon tune coop|cocoop|kgcoop|prograd`: learn a prompt from the cache (no image decoded), then test it.
struct Tune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Learn a prompt (CoOp, CoCoOp, KgCoOp, ProGrad) from cached features and evaluate it on the test split.",
        subcommands: [TuneCoOp.self, TuneCoCoOp.self, TuneKgCoOp.self, TuneProGrad.self])
}

/// Options shared by both methods; defaults come from `Hyperparameters` (the papers' configs).
struct TuneOptions: ParsableArguments {
    @OptionGroup var task: TaskOptions
    @Option(help: "Shots per class (1, 2, 4, 8, 16); omit to train on the whole train split.") var shots: Int?
    @Option(help: "Seeds of the few-shot draw and of training, comma-separated (several: mean ± std over seeds).")
    var seeds: String = "1"
    @Option(help: "Epochs (default: the papers' schedule for the shots).") var epochs: Int?
    @Option(help: "Batch size (default 32 for CoOp and ProGrad, 1 for CoCoOp, 128 for KgCoOp).") var batch: Int?
    @Option(help: "Learning rate (default 0.002).") var lr: Double?
    @Option(help: "Prompt checkpoint to write (default <dataset>-<method>-<shots>shot-seed<seed>-<classes>.safetensors).")
    var out: String?
    @Option(help: "Recipe (8 hex digits) of the augmented training views when the store holds several.") var recipe: String?
    @Flag(help: "Train on view 0 of training items that have no augmented views instead of refusing.") var allowUnaugmented = false
    @Option(help: textPrecisionHelp) var precision: String = "fp32"
    @Flag(help: "Continue an interrupted run from --out.") var resume = false
    @Flag(help: "Overwrite an existing --out.") var force = false
    @Flag(help: "Print the outcome as JSON.") var json = false
    @Flag(help: "No progress line.") var quiet = false

    func run(method: PromptMethod, configure: (inout Hyperparameters) throws -> Void) throws {
        let (model, data) = try task.open(textPrecision: try Precision(option: precision), tuning: true)
        var h = Hyperparameters.defaults(method, shots: shots, dataset: data.record.name)
        try configure(&h)
        if let epochs { h.epochs = epochs }
        if let batch { h.batchSize = batch }
        if let lr { h.learningRate = lr }
        guard h.epochs >= 1, h.batchSize >= 1, h.learningRate > 0 else { throw ValidationError("epochs, batch and lr must be positive") }
        let seedList = seeds.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !seedList.isEmpty, seedList.count == seeds.split(separator: ",").count else {
            throw ValidationError("--seeds must be integers separated by commas (got \(seeds))")
        }
        guard out == nil || seedList.count == 1 else { throw ValidationError("--out names one checkpoint: give one seed, or omit --out") }
        var outcomes: [TuningOutcome] = []
        for seed in seedList {
            outcomes.append(try run(method: method, model: model, data: data, h: h, seed: seed))
        }
        if json {
            try printJSON(["runs": try outcomes.map { try jsonObject($0) }, "summary": try jsonObject(SeedSummary(outcomes))])
        } else if outcomes.count > 1 {
            let s = SeedSummary(outcomes)
            var line = String(format: "mean ± std over seeds %@: accuracy %.2f ± %.2f%%  macro-F1 %.2f ± %.2f%%",
                              seedList.map(String.init).joined(separator: ","), s.accuracyMean, s.accuracyStd, s.macroF1Mean, s.macroF1Std)
            if let n = s.newAccuracyMean, let hm = s.harmonicMeanMean { line += String(format: "  new %.2f%%  H %.2f%%", n, hm) }
            print(line)
        }
    }

    private func run(method: PromptMethod, model: CLIPModel, data: CachedDataset, h: Hyperparameters, seed: Int) throws -> TuningOutcome {
        let shotText = shots.map { "\($0)shot" } ?? "full"
        let path = out ?? "\(data.record.name)-\(method.rawValue)-\(shotText)-seed\(seed)-\(task.classes).safetensors"
        let request = TuningRequest(method: method, shots: shots, seed: seed, classes: try task.classSubset, hyperparameters: h,
                                    checkpoint: URL(fileURLWithPath: path), resume: resume, force: force, recipe: recipe,
                                    allowUnaugmented: allowUnaugmented)
        var line: ProgressReporter?
        var firstStep = 0, done = 0, lastDetail = ""
        let outcome = try Tuning.run(model: model, data: data, request: request) { epoch, epochs, b, batches, loss, accuracy in
            guard !(quiet || json) else { return }
            let step = (epoch - 1) * batches + b
            if line == nil {        // a resumed run starts part-way
                firstStep = step - 1
                line = ProgressReporter(label: "\(method.rawValue) seed \(seed)", total: epochs * batches - firstStep, unit: "steps")
            }
            done = step - firstStep
            lastDetail = String(format: "epoch %d/%d, loss %.4f, train acc %.1f%%", epoch, epochs, loss, accuracy)
            line?.update(done: done, detail: lastDetail)
        }
        line?.finish(done: done, detail: lastDetail)
        if !json {
            let epochsPerSecond = Double(outcome.log.count) / max(outcome.trainSeconds, 1e-9)
            print("\(method.rawValue) on \(outcome.dataset) (\(outcome.classes) classes: \(outcome.classCount), \(outcome.trainItems) training images, \(shotText), seed \(seed))")
            print(String(format: "trained %d epochs in %.1f s (%.2f epochs/s, text tower %@); final loss %.4f", outcome.log.count,
                         outcome.trainSeconds, epochsPerSecond, model.text.precision.rawValue, outcome.log.last?.loss ?? .nan))
            print(outcome.trainingViews.summary)
            print("test: " + describe(outcome.test))
            if let new = outcome.newClasses, let hm = outcome.harmonicMean {
                print("new classes: " + describe(new) + String(format: "   H %.2f%%", hm))
            }
            print("prompt: \(outcome.checkpoint)")
        }
        return outcome
    }
}

struct TuneCoOp: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "coop", abstract: "CoOp: learned context vectors.")
    @OptionGroup var options: TuneOptions
    @Option(help: "Context length M (default 16).") var context: Int?
    @Flag(help: "Class-specific context (CSC).") var csc = false
    @Option(help: "Class token position: end, middle or front.") var position: String = "end"
    @Option(help: "Initialise the context from a phrase (sets M to its word count), e.g. \"a photo of a\".") var initPhrase: String?

    func run() throws {
        guard let p = ClassTokenPosition(rawValue: position) else { throw ValidationError("--position must be end, middle or front") }
        try options.run(method: .coop) { h in
            if let context { h.contextLength = context }
            h.classSpecific = csc
            h.position = p
            h.initPhrase = initPhrase
        }
    }
}

struct TuneCoCoOp: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cocoop", abstract: "CoCoOp: context + Meta-Net conditioned on the image.")
    @OptionGroup var options: TuneOptions
    @Option(help: "Context length M with random init (default: 4 from \"a photo of a\").") var context: Int?
    @Option(help: "Initialisation phrase (default \"a photo of a\").") var initPhrase: String?

    func run() throws {
        try options.run(method: .cocoop) { h in
            if let context { h.contextLength = context; h.initPhrase = nil }
            if let initPhrase { h.initPhrase = initPhrase }
        }
    }
}

struct TuneKgCoOp: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kgcoop", abstract: "KgCoOp: CoOp's context kept near the hand-crafted prompts' text features (M = 4 from \"a photo of a\").")
    @OptionGroup var options: TuneOptions
    @Option(help: "Weight W of the knowledge-guided term 1 − mean cos(learned, hand-crafted) (default 8).") var w: Double?

    func run() throws {
        try options.run(method: .kgcoop) { h in
            if let w {
                guard w >= 0 else { throw OptionError("--w \(w): must be 0 or more") }
                h.kgcoopWeight = w
            }
        }
    }
}

struct TuneProGrad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prograd", abstract: "ProGrad: CoOp whose cross-entropy gradient keeps only what agrees with the zero-shot model's.")
    @OptionGroup var options: TuneOptions
    @Option(name: .customLong("lambda"),
            help: "Share λ of the conflicting component removed (default 1; 0.8 for 8/16 shots on Flowers102, DTD, EuroSAT).")
    var lambda: Double?

    func run() throws {
        try options.run(method: .prograd) { h in
            if let lambda {
                guard (0...1).contains(lambda) else { throw OptionError("--lambda \(lambda): must be between 0 and 1") }
                h.progradLambda = lambda
            }
        }
    }
}
