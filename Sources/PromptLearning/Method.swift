import CLIP
import Datasets
import Kernels

/// The methods cocoon trains from the cache, by their command-line names: `tune`'s subcommands,
/// a checkpoint's `method`, `reproduce`'s cells and the demo read this one list. `definition` is
/// the only place a name meets its code.
public enum PromptMethod: String, Codable, CaseIterable, Sendable {
    case coop, cocoop, kgcoop, prograd
    case clipAdapter = "clip-adapter", taskres, tipAdapter = "tip-adapter", tipAdapterF = "tip-adapter-f", lpPlusPlus = "lp++"
    case zeroShot = "zero-shot", linearProbe = "linear-probe"

    /// The method's code: its defaults, how a run starts and resumes, its inference.
    public var definition: MethodDefinition.Type {
        switch self {
        case .coop: return CoOpMethod.self
        case .cocoop: return CoCoOpMethod.self
        case .kgcoop: return KgCoOpMethod.self
        case .prograd: return ProGradMethod.self
        case .clipAdapter: return CLIPAdapterMethod.self
        case .taskres: return TaskResMethod.self
        case .tipAdapter: return TipAdapterMethod.self
        case .tipAdapterF: return TipAdapterFMethod.self
        case .lpPlusPlus: return LPPlusPlusMethod.self
        case .zeroShot: return ZeroShotMethod.self
        case .linearProbe: return LinearProbeMethod.self
        }
    }

    /// The method's name as its paper spells it.
    public var displayName: String { definition.displayName }

    /// The prompt methods: they learn text (a context) and so carry to classes never trained on.
    public static let promptLearners: [PromptMethod] = [.coop, .cocoop, .kgcoop, .prograd]
    /// The few-shot adapters: they learn on the image features and a fixed text classifier.
    public static let adapters: [PromptMethod] = [.clipAdapter, .taskres, .tipAdapter, .tipAdapterF, .lpPlusPlus]
    /// The papers' baselines: nothing trained through the text tower or on augmented views.
    public static let baselines: [PromptMethod] = [.zeroShot, .linearProbe]
}

/// One method as cocoon runs it: a conforming type in the method's own file (`KgCoOpLearner.swift`
/// is the worked example, docs/DESIGN.md "Adding a method"). `Tuning` (and through it `tune`,
/// `reproduce` and the demo) starts and resumes runs through it; `Scoring`, `eval`, `predict`,
/// `classifier` and `cocoon-serve` rebuild the trained classifier through it.
public protocol MethodDefinition {
    static var displayName: String { get }
    /// The lower bound of the random-resized-crop scale of the augmented views its official code
    /// trains on: 0.08 (Dassl: CoOp and the methods built on it), 0.5 (Tip-Adapter, LP++).
    static var officialCropScale: Double { get }
    /// The validation data its hyper-parameter or epoch selection reads for `shots` (never test;
    /// nil: it selects nothing, or only on the task's own val draw, `TrainingInput.validation`).
    static func selection(shots: Int?) -> SelectionKind?
    /// Whether it trains on augmented views (false: view 0 only, so items without views are fine).
    static var trainsOnAugmentedViews: Bool { get }
    /// Whether the learned state scores classes it was not trained on (new classes, other
    /// datasets): true for what is learned on the text side or the image side alone.
    static var transfersToOtherClasses: Bool { get }
    /// The official defaults for `shots` on `dataset` (canonical name): what `tune` starts from.
    static func defaults(shots: Int?, dataset: String) -> Hyperparameters
    /// A new run; draws its initial state from `random` (the run's seed) in the official order.
    static func start(_ input: TrainingInput, random: inout TrainingRandom) throws -> MethodRun
    /// The run saved in `checkpoint`, ready to continue (or finished).
    static func resume(_ checkpoint: PromptCheckpoint, input: TrainingInput) throws -> MethodRun
    /// The checkpoint's trained state scoring `context.classnames` (the classes it was trained on,
    /// or others where `transfersToOtherClasses`).
    static func classifier(_ checkpoint: PromptCheckpoint, context: MethodContext) throws -> Classifier
}

/// What rebuilds a method's state for one class list: the model, the classes, the dataset whose
/// templates the text side uses, and the run's hyper-parameters.
public struct MethodContext {
    public let model: CLIPModel
    public let classnames: [String]
    /// Canonical dataset name (templates); nil for class lists of no known dataset.
    public let dataset: String?
    public let hyperparameters: Hyperparameters

    public init(model: CLIPModel, classnames: [String], dataset: String?, hyperparameters: Hyperparameters) {
        self.model = model; self.classnames = classnames; self.dataset = dataset; self.hyperparameters = hyperparameters
    }

    /// Raw (unnormalised) text features `[T, C, D]` of every template for every class.
    public func templateFeatures(_ templates: [String]) throws -> Tensor {
        let C = classnames.count, D = model.text.embedDim
        let out = Tensor(shape: [templates.count, C, D])
        for (t, template) in templates.enumerated() {
            let tokens = try model.tokenize(classnames.map { PromptTemplates.prompt(template, classname: $0) })
            let features = model.text.encode(tokens: tokens)                 // [C, D]
            (out.data + t * C * D).update(from: features.data, count: C * D)
        }
        return out
    }
}

/// What a run trains on: the context, the training set (normalised; view 0 plus the recipe's
/// augmented views), the selection set a method asks for, and the raw training features for the
/// methods that average unnormalised features (Tip-Adapter's keys).
public struct TrainingInput {
    public let context: MethodContext
    public let train: FeatureSet
    /// The task's own val draw (CoOp's sampler: up to 4 per class), nil without one: what the
    /// linear probe chooses λ on.
    public var validation: FeatureSet? = nil
    /// Validation features for `MethodDefinition.selection`, nil when the method selects nothing.
    public let selection: LabeledFeatures?
    /// Where `selection` came from, for the run's report.
    public let selectionSource: SelectionSource?
    /// `train` as stored (unnormalised), read on demand; nil where no method asks for it.
    public let rawTrain: (() throws -> FeatureSet)?

    public init(context: MethodContext, train: FeatureSet, selection: LabeledFeatures? = nil, selectionSource: SelectionSource? = nil,
                rawTrain: (() throws -> FeatureSet)? = nil) {
        self.context = context; self.train = train; self.selection = selection; self.selectionSource = selectionSource
        self.rawTrain = rawTrain
    }

    /// The selection set, or a one-line error naming the method.
    func requireSelection(_ method: String) throws -> LabeledFeatures {
        guard let selection else { throw PromptError.invalid("\(method) selects on validation data, and none was given") }
        return selection
    }
}

/// A method's training in progress, driven by `Tuning` one epoch at a time: `Trainer` (the Dassl
/// loop of the prompt learners, CLIP-Adapter and TaskRes) or an adapter's own loop.
public protocol MethodRun: AnyObject {
    var hyperparameters: Hyperparameters { get }
    var epochsDone: Int { get }
    var log: [EpochLog] { get }
    /// Runs the next epoch; `progress(batch, batches, runningLoss, runningAccuracy)` after each step.
    @discardableResult
    func runEpoch(progress: ((Int, Int, Double, Double) -> Void)?) -> EpochLog
    /// The trained state now, as the evaluator reads it.
    var classifier: Classifier { get }
    /// Everything a checkpoint keeps of the run beyond the recipe.
    func state() -> MethodState
    /// Whether a checkpoint is written after every epoch (false: once, when finished; for loops
    /// that take seconds and restart rather than resume).
    var checkpointsEveryEpoch: Bool { get }
    /// What selection on validation data picked (nil for methods that select nothing).
    var selected: SelectionReport? { get }
}

extension MethodRun {
    public var finished: Bool { epochsDone >= hyperparameters.epochs }
}

/// The part of a checkpoint a run writes: named tensors (parameters first, then fixed state such
/// as Tip-Adapter's cache), optimiser state (`optimizer.<parameter>…`), scalars kept exactly
/// (Tip-Adapter's α, β), what selection picked, the epoch count, the random state and the log.
public struct MethodState {
    public var tensors: [(name: String, tensor: Tensor)]
    public var optimizer: [(name: String, tensor: Tensor)]
    public var scalars: [String: Double]
    public var selected: SelectionReport?
    public var epochsDone: Int
    public var randomState: UInt64
    public var log: [EpochLog]

    public init(tensors: [(name: String, tensor: Tensor)], optimizer: [(name: String, tensor: Tensor)] = [], scalars: [String: Double] = [:],
                selected: SelectionReport? = nil, epochsDone: Int, randomState: UInt64, log: [EpochLog]) {
        self.tensors = tensors; self.optimizer = optimizer; self.scalars = scalars; self.selected = selected
        self.epochsDone = epochsDone; self.randomState = randomState; self.log = log
    }
}

/// What a selection on validation data picked, for the run's report and the tables.
public struct SelectionReport: Codable, Equatable {
    public var source: SelectionSource
    /// The picked values by name (Tip-Adapter "alpha", "beta"; Tip-Adapter-F "epoch"; LP++ "iteration").
    public var picked: [String: Double]
    /// Accuracy (%) on the selection data at the pick.
    public var accuracy: Double

    public init(source: SelectionSource, picked: [String: Double], accuracy: Double) {
        self.source = source; self.picked = picked; self.accuracy = accuracy
    }
}

/// The run of a method with nothing to train epoch by epoch (zero-shot, the linear probe): its
/// classifier and checkpoint tensors are ready when it starts.
public final class FinishedRun: MethodRun {
    public let hyperparameters: Hyperparameters
    public let classifier: Classifier
    let tensors: [(name: String, tensor: Tensor)]
    let scalars: [String: Double]

    public init(hyperparameters: Hyperparameters, classifier: Classifier, tensors: [(name: String, tensor: Tensor)] = [],
                scalars: [String: Double] = [:]) {
        precondition(hyperparameters.epochs == 0, "a finished run has no epochs to run")
        self.hyperparameters = hyperparameters; self.classifier = classifier; self.tensors = tensors; self.scalars = scalars
    }

    public var epochsDone: Int { 0 }
    public var log: [EpochLog] { [] }
    public var checkpointsEveryEpoch: Bool { false }
    public var selected: SelectionReport? { nil }

    public func runEpoch(progress: ((Int, Int, Double, Double) -> Void)?) -> EpochLog {
        preconditionFailure("a finished run has no epochs to run")
    }

    public func state() -> MethodState {
        MethodState(tensors: tensors, scalars: scalars, epochsDone: 0, randomState: TrainingRandom(seed: hyperparameters.seed).state, log: [])
    }
}
