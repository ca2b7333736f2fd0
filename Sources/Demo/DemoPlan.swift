import Kernels
import PromptLearning

/// The settings of the embedded demo, in one table (the README quotes it). `full` is what
/// `make demo` runs; `reduced` is the seconds-long version `make test` asserts on.
public struct DemoPlan: Codable {
    /// Seed of the generated images, the view augmentations, the few-shot draws and training.
    public var seed: UInt64
    /// Downstream dataset (two-tone colour × shape, the demo domain).
    public var dataset: String
    /// Shots of the few-shot table.
    public var shots: [Int]
    /// Augmented views cached per training image (view 0 is the eval transform).
    public var augmentedViews: Int
    /// CoOp: context length, init phrase, epochs, learning rate, batch.
    public var coop: Hyperparameters
    /// CoCoOp on the base classes (base-to-new).
    public var cocoop: Hyperparameters
    /// Shots of the base-to-new runs.
    public var baseToNewShots: Int
    /// Nearest words shown per learned context vector.
    public var nearestWords: Int
    /// Whether to fit the linear-probe baseline at each shot count.
    public var linearProbe: Bool
    /// Arithmetic of the image tower while indexing (`cocoon demo --precision bf16`).
    public var precision: Precision = .fp32

    public static let full: DemoPlan = {
        var coop = Hyperparameters.coop(shots: 16, dataset: "colored-shapes")
        coop.epochs = 50                      // the notes' measured recipe: 50 epochs suffice here
        coop.contextLength = 16
        var cocoop = Hyperparameters.cocoop()
        cocoop.batchSize = 4                  // the notes' CoCoOp run: batch 4, 10 epochs
        return DemoPlan(seed: 1, dataset: "colored-shapes", shots: [1, 4, 16], augmentedViews: 2, coop: coop, cocoop: cocoop,
                        baseToNewShots: 16, nearestWords: 3, linearProbe: true)
    }()

    public static let reduced: DemoPlan = {
        var plan = DemoPlan.full
        plan.shots = [16]
        plan.augmentedViews = 1
        plan.coop.epochs = 8
        plan.cocoop.epochs = 2                // the first epoch is the warm-up at 1e-5
        plan.baseToNewShots = 4
        plan.linearProbe = false
        return plan
    }()
}
