import Kernels
import PromptLearning

/// The settings of the embedded demo, in one table (the README quotes it). `full` is what
/// `make demo` runs; `reduced` is the shorter version `make test` asserts on. Training uses the
/// papers' defaults (`Hyperparameters`) unchanged; only the seeds, shot counts and datasets are
/// chosen here.
public struct DemoPlan: Codable {
    /// Seed of the generated images and of the cached augmented views: the world is drawn once.
    public var worldSeed: UInt64
    /// Seeds of the few-shot draws and of training; every learned entry is their mean ± std.
    public var seeds: [Int]
    /// Downstream dataset (few-shot, base-to-new, and the source of domain generalisation).
    public var dataset: String
    /// Domain-generalisation target: the same classes drawn in another style.
    public var targetDataset: String
    /// Shots of the few-shot table. CoOp's Figure 3 also has 8; its three runs (16 s of the
    /// two-core budget) are left to `cocoon demo --shots 1,2,4,8,16`.
    public var shots: [Int]
    /// Augmented views cached per training image (view 0 is the eval transform).
    public var augmentedViews: Int
    /// The few-shot adapters of the few-shot table, run at each shot count on CoOp's draws.
    public var fewShotAdapters: [PromptMethod]
    /// Augmented views of the adapters' own recipe (crop scale 0.5–1), cached per training image:
    /// Tip-Adapter averages 10 into each key.
    public var adapterViews: Int
    /// Shots of the base-to-new runs (the target domain is scored with the few-shot table's most shots).
    public var baseToNewShots: Int
    /// Epochs of every run, when set (the reduced plan): otherwise the papers' schedules.
    public var maxEpochs: Int?
    /// Nearest words shown per learned context vector.
    public var nearestWords: Int
    /// Whether to fit the linear-probe baseline at each shot count.
    public var linearProbe: Bool
    /// Images per row of the report's examples (fixed and broken by CoOp; samples per split).
    public var examples: Int
    /// Arithmetic of the image tower while indexing (`cocoon demo --precision bf16`).
    public var precision: Precision = .fp32

    /// CoOp of the few-shot table: CoOp's own defaults for `shots` (M = 16, random init).
    public func coop(shots: Int) -> Hyperparameters { capped(.coop(shots: shots, dataset: dataset)) }
    /// CoOp in base-to-new, as the CoCoOp paper runs it (M = 4 from "a photo of a").
    public var coopBaseToNew: Hyperparameters { capped(.coopContextV1(shots: baseToNewShots, dataset: dataset)) }
    /// CoCoOp's defaults (batch 1, 10 epochs).
    public var cocoop: Hyperparameters { capped(.cocoop()) }
    /// The base-to-new settings of each prompt method: CoOp as the CoCoOp paper runs it, the
    /// others with their own defaults at `baseToNewShots`.
    public func baseToNew(_ method: PromptMethod) -> Hyperparameters {
        switch method {
        case .coop: return coopBaseToNew
        case .cocoop: return cocoop
        default: return capped(.defaults(method, shots: baseToNewShots, dataset: dataset))
        }
    }

    /// A few-shot adapter's official defaults for `shots` (epochs capped like the others).
    public func adapter(_ method: PromptMethod, shots: Int) -> Hyperparameters {
        capped(.defaults(method, shots: shots, dataset: dataset))
    }

    private func capped(_ h: Hyperparameters) -> Hyperparameters {
        var h = h
        if let maxEpochs { h.epochs = min(h.epochs, maxEpochs) }
        return h
    }

    public static let full = DemoPlan(worldSeed: 1, seeds: [1, 2, 3], dataset: "colored-shapes", targetDataset: "colored-shapes-grainy",
                                      shots: [1, 2, 4, 16], augmentedViews: 2, fewShotAdapters: [.tipAdapter, .tipAdapterF],
                                      adapterViews: 10, baseToNewShots: 16, maxEpochs: nil,
                                      nearestWords: 3, linearProbe: true, examples: 8)

    /// The full plan with at most 50 epochs per run and one augmented view.
    public static let reduced: DemoPlan = {
        var plan = DemoPlan.full
        plan.maxEpochs = 50
        plan.augmentedViews = 1
        return plan
    }()
}
