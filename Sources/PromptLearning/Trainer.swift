import Dispatch
import Kernels

/// One epoch's summary, kept in the checkpoint and the results.
public struct EpochLog: Codable, Equatable {
    public var epoch: Int
    public var learningRate: Double
    public var loss: Double
    public var accuracy: Double
    public var seconds: Double
}

/// The training loop of the papers on cached features: per epoch a constant-warm-up/cosine learning
/// rate, a seeded shuffle, batches of `batchSize` (the last incomplete one dropped when there are at
/// least `batchSize` items, as Dassl does), one cached view per item drawn at random among its
/// augmented views (view 0 when it has none), and the learner's optimiser on every parameter (SGD
/// unless the learner picks another: `PromptLearner.makeOptimizer`). Its state (epoch, random
/// state, optimiser state) is what `--resume` restores to continue bit for bit. The `MethodRun` of
/// every method defined by a learner (`LearnerMethod`).
public final class Trainer: MethodRun {
    public let learner: PromptLearner
    public let hyperparameters: Hyperparameters
    public let data: FeatureSet
    public private(set) var epochsDone = 0
    public private(set) var random: TrainingRandom
    public private(set) var log: [EpochLog] = []
    /// One per learner parameter, as `learner.makeOptimizer` chose.
    public let optimizers: [ParameterOptimizer]

    public init(learner: PromptLearner, hyperparameters h: Hyperparameters, data: FeatureSet, random: TrainingRandom) {
        self.learner = learner; self.hyperparameters = h; self.data = data; self.random = random
        optimizers = learner.parameters.map { learner.makeOptimizer(parameterCount: $0.tensor.count, hyperparameters: h) }
    }

    /// Continues from a checkpoint's epoch count, random state, optimiser state and log (the
    /// learner already holds its parameters).
    public func restore(_ checkpoint: PromptCheckpoint) throws {
        epochsDone = checkpoint.state.epochsDone
        random = TrainingRandom(state: checkpoint.state.randomState)
        log = checkpoint.state.log
        for ((name, _), optimizer) in zip(learner.parameters, optimizers) {
            try optimizer.restore(prefix: "optimizer.\(name)", from: checkpoint.tensor)
        }
    }

    public var classifier: Classifier { learner }
    public var checkpointsEveryEpoch: Bool { true }
    public var selected: SelectionReport? { nil }

    public func state() -> MethodState {
        let optimizer = zip(learner.parameters, optimizers).flatMap { parameter, optimizer in
            optimizer.state(prefix: "optimizer.\(parameter.name)", shape: parameter.tensor.shape)
        }
        return MethodState(tensors: learner.parameters, optimizer: optimizer, epochsDone: epochsDone, randomState: random.state, log: log)
    }

    /// Batches per epoch.
    public var batchesPerEpoch: Int {
        let n = data.count, b = hyperparameters.batchSize
        return n >= b ? n / b : 1
    }

    /// Runs the next epoch; `progress(batch, batches, runningLoss, runningAccuracy)` after each step.
    @discardableResult
    public func runEpoch(progress: ((Int, Int, Double, Double) -> Void)? = nil) -> EpochLog {
        let start = DispatchTime.now().uptimeNanoseconds
        let h = hyperparameters, D = data.dim, e = epochsDone
        let lr = h.learningRate(epoch: e)
        var order = Array(0..<data.count)
        random.shuffle(&order)
        let batches = batchesPerEpoch
        let size = min(h.batchSize, data.count)
        var lossSum = 0.0, correct = 0, seen = 0
        for b in 0..<batches {
            let members = order[(b * size)..<min((b + 1) * size, order.count)]
            let images = Tensor(shape: [members.count, D])
            var labels: [Int] = []
            data.values.withUnsafeBufferPointer { v in
                for (row, i) in members.enumerated() {
                    let views = data.offsets[i + 1] - data.offsets[i]
                    let view = views > 1 ? 1 + random.below(views - 1) : 0
                    (images.data + row * D).update(from: v.baseAddress! + (data.offsets[i] + view) * D, count: D)
                    labels.append(data.labels[i])
                }
            }
            let (result, gradients) = learner.lossAndGradients(images: images, labels: labels)
            for ((_, parameter), (optimizer, gradient)) in zip(learner.parameters, zip(optimizers, gradients)) {
                withExtendedLifetime((parameter, gradient)) {
                    optimizer.step(parameters: parameter.data, gradients: gradient.data, learningRate: lr)
                }
            }
            lossSum += result.loss * Double(result.count)
            correct += result.correct
            seen += result.count
            progress?(b + 1, batches, lossSum / Double(seen), 100 * Double(correct) / Double(seen))
        }
        let entry = EpochLog(epoch: e + 1, learningRate: lr, loss: lossSum / Double(max(seen, 1)),
                             accuracy: 100 * Double(correct) / Double(max(seen, 1)),
                             seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        log.append(entry)
        epochsDone += 1
        return entry
    }
}
