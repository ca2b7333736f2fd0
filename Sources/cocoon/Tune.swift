import ArgumentParser
import CLIP
import Foundation
import Indexing
import Kernels
import PromptLearning

/// `cocoon tune METHOD`: learn a prompt or a few-shot adapter from the cache (no image decoded),
/// then test it. One subcommand per `PromptMethod`, each adding only its own options.
struct Tune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Learn a prompt (CoOp, CoCoOp, KgCoOp, ProGrad) or a few-shot adapter (CLIP-Adapter, TaskRes, Tip-Adapter, Tip-Adapter-F, LP++) from cached features and evaluate it on the test split.",
        subcommands: [TuneCoOp.self, TuneCoCoOp.self, TuneKgCoOp.self, TuneProGrad.self,
                      TuneCLIPAdapter.self, TuneTaskRes.self, TuneTipAdapter.self, TuneTipAdapterF.self, TuneLPPlusPlus.self,
                      TuneLinearProbe.self])
}

/// Options shared by both methods; defaults come from `Hyperparameters` (the papers' configs).
struct TuneOptions: ParsableArguments {
    @OptionGroup var task: TaskOptions
    @Option(help: "Shots per class (1, 2, 4, 8, 16); omit to train on the whole train split.") var shots: Int?
    @Option(help: "Seeds of the few-shot draw and of training, comma-separated (several: mean ± std over seeds).")
    var seeds: String = "1"
    @Option(help: "Epochs (default: the papers' schedule for the shots).") var epochs: Int?
    @Option(help: "Batch size (default: the method's official one, e.g. 32 for CoOp, 1 for CoCoOp, 256 for TaskRes).") var batch: Int?
    @Option(help: "Learning rate (default: the method's official one, e.g. 0.002 for CoOp).") var lr: Double?
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
        guard h.epochs >= 0, h.batchSize >= 0, h.learningRate > 0, epochs.map({ $0 >= 1 }) ?? true, batch.map({ $0 >= 1 }) ?? true else {
            throw ValidationError("--epochs, --batch and --lr must be positive")
        }
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
            if outcome.log.isEmpty {
                print("no epochs: built or fitted from the few-shot draw in one go")
            } else {
                print(String(format: "trained %d epochs in %.1f s (%.2f epochs/s, text tower %@); final loss %.4f", outcome.log.count,
                             outcome.trainSeconds, epochsPerSecond, model.text.precision.rawValue, outcome.log.last!.loss))
            }
            print(outcome.trainingViews.summary)
            if let s = outcome.selection {
                let picked = s.picked.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%g", $0.value))" }.joined(separator: ", ")
                print(s.source.summary + String(format: "; picked %@ at %.2f%%", picked, s.accuracy))
            }
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

struct TuneCLIPAdapter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clip-adapter", abstract: "CLIP-Adapter: a residual bottleneck MLP on the image feature, fixed hand-crafted text classifier.")
    @OptionGroup var options: TuneOptions
    @Option(help: "Residual ratio of the adapted feature (default 0.2).") var ratio: Double?

    func run() throws {
        try options.run(method: .clipAdapter) { h in
            if let ratio {
                guard (0...1).contains(ratio) else { throw OptionError("--ratio \(ratio): must be between 0 and 1") }
                h.clipAdapterRatio = ratio
            }
        }
    }
}

struct TuneTaskRes: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "taskres", abstract: "TaskRes: a learned residual on the text classifier (Adam; a fixed class matrix once trained).")
    @OptionGroup var options: TuneOptions
    @Option(help: "Residual scale α (default 0.5; 1.0 for OxfordFlowers).") var scale: Double?

    func run() throws {
        try options.run(method: .taskres) { h in
            if let scale {
                guard scale > 0 else { throw OptionError("--scale \(scale): must be positive") }
                h.taskresScale = scale
            }
        }
    }
}

/// Tip-Adapter's and Tip-Adapter-F's own options.
struct TipAdapterOptions: ParsableArguments {
    @Option(help: "Initial residual ratio α (default: the dataset's official init_alpha).") var alpha: Double?
    @Option(help: "Initial sharpness β (default 1).") var beta: Double?
    @Option(help: "Augmented views averaged into each cache key (default 10).") var augmentViews: Int?
    @Flag(help: "Select on the test split as the official code does (ImageNet search, Tip-Adapter-F's best epoch); results are labelled test-selected.")
    var selectOnTest = false

    func apply(_ h: inout Hyperparameters) throws {
        guard var settings = h.tipAdapter else { return }
        if let alpha { settings.initAlpha = alpha }
        if let beta {
            guard beta > 0 else { throw OptionError("--beta \(beta): must be positive") }
            settings.initBeta = beta
        }
        if let augmentViews {
            guard augmentViews >= 1 else { throw OptionError("--augment-views \(augmentViews): must be 1 or more") }
            settings.augmentViews = augmentViews
        }
        h.tipAdapter = settings
        if selectOnTest { h.selectOnTest = true }
    }
}

struct TuneTipAdapter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tip-adapter", abstract: "Tip-Adapter: training-free key-value cache of the few-shot features; α, β searched on val.")
    @OptionGroup var options: TuneOptions
    @OptionGroup var tip: TipAdapterOptions

    func run() throws {
        try options.run(method: .tipAdapter) { h in try tip.apply(&h) }
    }
}

struct TuneTipAdapterF: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tip-adapter-f", abstract: "Tip-Adapter-F: Tip-Adapter with the cache keys fine-tuned (AdamW), then α, β searched on val.")
    @OptionGroup var options: TuneOptions
    @OptionGroup var tip: TipAdapterOptions
    @Option(help: "Keys kept: last (the last epoch's) or best (the epoch best on the selection data).") var keep: String = "last"

    func run() throws {
        guard let kept = TipAdapterSettings.KeptKeys(rawValue: keep) else {
            throw OptionError("--keep \(keep): must be last or best")
        }
        try options.run(method: .tipAdapterF) { h in
            try tip.apply(&h)
            h.tipAdapter?.keep = kept
        }
    }
}

struct TuneLPPlusPlus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lp++", abstract: "LP++: a linear probe blended with the text classifier, data-derived step sizes; best iteration on a few-shot val.")
    @OptionGroup var options: TuneOptions
    @Flag(help: "Select the iteration on the test split as the official code reports it; results are labelled test-selected.")
    var selectOnTest = false

    func run() throws {
        try options.run(method: .lpPlusPlus) { h in if selectOnTest { h.selectOnTest = true } }
    }
}

struct TuneLinearProbe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "linear-probe",
        abstract: "The linear-probe baseline as a checkpoint (view 0 of the draw, λ on its val) for eval, predict, classifier and serve; `cocoon probe` scores it without one.")
    @OptionGroup var options: TuneOptions

    func run() throws {
        try options.run(method: .linearProbe) { _ in }
    }
}
