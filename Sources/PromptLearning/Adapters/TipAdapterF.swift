import Kernels

#if canImport(Glibc)
import Glibc
#endif

/// Tip-Adapter-F (gaopengcuhk/Tip-Adapter `main.py`, `run_tip_adapter_F`): the cache keys become a
/// learnable bias-free Linear `adapter.weight` `[NK, D]` (initialised to Kᵀ, i.e. `TipAdapter.keys`),
/// trained in place with the values, W, α and β fixed at the adapter's current (initial) α, β:
/// loss = CE(100·f·Wᵀ + α·exp(−β(1 − adapter(f)))·L). AdamW (lr 0.001, **eps 1e-4**, weight decay
/// 0.01), CosineAnnealingLR over epochs × iterations **stepped every iteration** (eta_min 0),
/// shuffled batches of 256 with the last one kept (`drop_last=False`), one freshly drawn augmented
/// view per image and epoch (normalised). After training the official code searches α, β on val
/// (`TipAdapter.search`). `TipAdapterFMethod` runs it for `tune`, `reproduce` and the demo.
public enum TipAdapterF {
    /// Training settings; defaults are the official ones (`train_epoch` is per dataset:
    /// `TipAdapterSettings.official`).
    public struct Options: Codable, Equatable {
        public var epochs = 20
        public var batchSize = 256
        public var learningRate = 0.001
        public var epsilon = 1e-4
        public var weightDecay = 0.01
        /// Which keys to keep: the last epoch's, or those of the epoch with the best selection
        /// accuracy (the official code keeps the best **test** epoch; pass val, never test).
        public var keep: TipAdapterSettings.KeptKeys = .lastEpoch

        public init() {}

        /// The options of a run's hyper-parameters (`Hyperparameters.tipAdapterF`).
        public init(_ h: Hyperparameters) {
            epochs = h.epochs; batchSize = h.batchSize; learningRate = h.learningRate; weightDecay = h.weightDecay
            keep = h.tipAdapter?.keep ?? .lastEpoch
        }
    }

    /// One epoch: learning rate of its last iteration, mean training loss and accuracy, and the
    /// selection accuracy at the training α, β (nil without a selection set).
    public struct EpochLog: Codable, Equatable {
        public var epoch: Int
        public var learningRate: Double
        public var loss: Double
        public var accuracy: Double
        public var selectionAccuracy: Double?
    }

    public struct Report: Codable, Equatable {
        public var log: [EpochLog]
        /// 0-based epoch whose keys were kept with `.bestOnSelection` (the first of the highest accuracy).
        public var bestEpoch: Int?
    }

    /// Loss and d loss / d keys `[NK, D]` for normalised features `[B, D]` at the adapter's α, β.
    public static func lossAndGradient(_ adapter: TipAdapter, images: Tensor, labels: [Int]) -> (result: StepResult, gradient: Tensor) {
        let B = images.shape[0], D = images.shape[1], NK = adapter.keyLabels.count, C = adapter.classes
        let alpha = Float(adapter.alpha), beta = Float(adapter.beta)
        // forward
        let affinity = adapter.affinity(images)                          // [B, NK] = adapter(f)
        let expAffinity = Tensor(shape: [B, NK])                         // [B, NK] exp(−(β − β·a))
        for i in 0..<affinity.count { expAffinity[i] = expf(-(beta - beta * affinity[i])) }
        let logits = adapter.clipLogits(images)                          // [B, C] 100·f·Wᵀ
        var cache = [Float](repeating: 0, count: C)                      // [C] exp(…)·L of one row
        for b in 0..<B {
            let e = expAffinity.data + b * NK, row = logits.data + b * C
            for c in 0..<C { cache[c] = 0 }
            for j in 0..<NK { cache[adapter.keyLabels[j]] += e[j] }
            for c in 0..<C { row[c] += cache[c] * alpha }
        }
        let (loss, correct) = CosineLoss.crossEntropy(logits.data, labels: labels, classes: C, gradient: true)
        // backward: dL/da[b, j] = α·G[b, label_j]·β·exp(−(β − β·a[b, j]))
        let dAffinity = Tensor(shape: [B, NK])                           // [B, NK]
        for b in 0..<B {
            for j in 0..<NK {
                let i = b * NK + j
                dAffinity[i] = alpha * logits[b * C + adapter.keyLabels[j]] * beta * expAffinity[i]
            }
        }
        let gradient = Tensor(shape: [NK, D])                            // [NK, D] = dAᵀ · f
        GEMM.sgemm(transA: true, m: NK, n: D, k: B, a: dAffinity.data, lda: NK, b: images.data, ldb: D,
                   c: gradient.data, ldc: D)
        return (StepResult(loss: loss, correct: correct, count: B), gradient)
    }

    /// Trains `adapter.keys` in place on `data` (normalised features grouped by item; an augmented
    /// view drawn per item and epoch as `Trainer` draws it, view 0 for items without). Per epoch:
    /// a `random` shuffle, ⌈N / batch⌉ iterations, then the selection accuracy when `selection` is
    /// given. With `.bestOnSelection` the keys of the best epoch (strictly higher accuracy) are
    /// restored at the end. `progress(epoch log)` after each epoch.
    @discardableResult
    public static func train(_ adapter: TipAdapter, data: FeatureSet, options o: Options, selection: LabeledFeatures?,
                             random: inout TrainingRandom, progress: ((EpochLog) -> Void)? = nil) -> Report {
        let training = Training(adapter, data: data, options: o, selection: selection)
        while training.log.count < o.epochs {
            let entry = training.runEpoch(random: &random, progress: nil)
            progress?(entry)
        }
        return training.report
    }

    /// Tip-Adapter-F's loop one epoch at a time (what `train` and `TipAdapterRun` drive): the
    /// AdamW state, the iteration count of the schedule, the log and the best epoch so far.
    public final class Training {
        public let adapter: TipAdapter
        let data: FeatureSet
        let options: Options
        let selection: LabeledFeatures?
        let optimizer: Adam
        let iterations: Int
        var step = 0
        public private(set) var log: [EpochLog] = []
        var best: (epoch: Int, accuracy: Double, keys: Tensor)?

        public init(_ adapter: TipAdapter, data: FeatureSet, options o: Options, selection: LabeledFeatures?) {
            precondition(o.keep == .lastEpoch || selection != nil, "keeping the best epoch needs a selection set")
            self.adapter = adapter; self.data = data; self.options = o; self.selection = selection
            iterations = (data.count + o.batchSize - 1) / o.batchSize
            optimizer = Adam.adamW(count: adapter.keys.count, epsilon: o.epsilon, weightDecay: o.weightDecay)
        }

        /// The next epoch; after the last one the best epoch's keys are restored (`.bestOnSelection`).
        /// `progress(batch, batches, runningLoss, runningAccuracy)` after each iteration.
        @discardableResult
        public func runEpoch(random: inout TrainingRandom, progress: ((Int, Int, Double, Double) -> Void)?) -> EpochLog {
            let o = options, N = data.count, epoch = log.count
            let total = Double(o.epochs * iterations)
            var order = Array(0..<N)
            random.shuffle(&order)
            var lossSum = 0.0, correct = 0, seen = 0, lr = 0.0
            for b in 0..<iterations {
                let items = Array(order[(b * o.batchSize)..<min((b + 1) * o.batchSize, N)])
                let views = items.map { AdapterBatch.randomView(data, item: $0, random: &random) }
                let (images, labels) = AdapterBatch.gather(data, items: items, views: views)
                lr = 0.5 * o.learningRate * (1 + cos(Double.pi * Double(step) / total))   // eta_min 0
                let (result, gradient) = lossAndGradient(adapter, images: images, labels: labels)
                withExtendedLifetime(gradient) {
                    optimizer.step(parameters: adapter.keys.data, gradients: gradient.data, learningRate: lr)
                }
                step += 1
                lossSum += result.loss * Double(result.count)
                correct += result.correct
                seen += result.count
                progress?(b + 1, iterations, lossSum / Double(seen), 100 * Double(correct) / Double(seen))
            }
            let selectionAccuracy = selection.map { $0.accuracy(adapter.logits(images: $0.features)) }
            if let accuracy = selectionAccuracy, o.keep == .bestOnSelection, accuracy > (best?.accuracy ?? -1) {
                best = (epoch, accuracy, adapter.keys.copy())
            }
            let entry = EpochLog(epoch: epoch + 1, learningRate: lr, loss: lossSum / Double(max(N, 1)),
                                 accuracy: 100 * Double(correct) / Double(max(N, 1)), selectionAccuracy: selectionAccuracy)
            log.append(entry)
            if log.count == o.epochs, let best { adapter.keys.data.update(from: best.keys.data, count: adapter.keys.count) }
            return entry
        }

        public var report: Report { Report(log: log, bestEpoch: best?.epoch) }
    }
}

/// Tip-Adapter-F as a method (`cocoon tune tip-adapter-f`): Tip-Adapter's cache, the keys trained
/// (`TipAdapterF.Training`), the last epoch's keys kept (`--keep best`: the best on val), then α
/// and β searched on the full val split.
public enum TipAdapterFMethod: TipAdapterFamily {
    public static let displayName = "Tip-Adapter-F"

    public static func defaults(shots: Int?, dataset: String) -> Hyperparameters { .tipAdapterF(dataset: dataset) }
}
