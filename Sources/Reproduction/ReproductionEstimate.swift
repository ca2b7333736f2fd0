import CLIP
import Datasets
import Foundation
import Kernels
import PromptLearning

/// `--dry-run`'s time estimate, from a short benchmark of this machine: the seconds of a
/// training step measured for each distinct (method, classes, context) of the plan with the real
/// text tower, and the image tower's images/s. Tuning time = steps × s/step; indexing time =
/// images × s/image, counted from the dataset files (an upper bound: what the store already
/// holds is not encoded again).
public struct ReproductionEstimate {
    public struct CellCost {
        public var cell: Cell
        public var steps: Int
        public var secondsPerStep: Double
        public var seconds: Double { Double(steps) * secondsPerStep }
    }

    public var cells: [CellCost]
    /// Images the index stage encodes at most, and the measured rate.
    public var images: Int
    public var imagesPerSecond: Double

    public var tuneSeconds: Double { cells.map(\.seconds).reduce(0, +) }
    public var indexSeconds: Double { imagesPerSecond > 0 ? Double(images) / imagesPerSecond : 0 }

    /// Measures and counts; `pending` are the cells still to run.
    public static func measure(plan: ReproductionPlan, pending: [Cell], modelDirectory: URL, root: URL) throws -> ReproductionEstimate {
        let model = try CLIPModel(directory: modelDirectory, loadImageTower: true)
        var datasets: [String: Dataset] = [:]
        for name in plan.datasets { datasets[name] = try DatasetCatalog.load(name: name, root: root) }
        var stepSeconds: [String: Double] = [:]
        var costs: [CellCost] = []
        for cell in pending {
            // The text-tower methods; the adapters train on the cached features in seconds.
            guard let method = cell.method.promptMethod, PromptMethod.promptLearners.contains(method),
                  let h = cell.hyperparameters, let shots = cell.shots else { continue }
            let data = try datasets[cell.source]!.subsampleClasses(cell.subset)
            let perClass = Dictionary(grouping: data.train, by: \.label).values.map { min($0.count, shots) }
            let items = perClass.reduce(0, +)
            let stepsPerEpoch = items >= h.batchSize ? items / h.batchSize : 1
            let key = "\(cell.method.rawValue)/\(cell.source)/\(cell.classes)/\(h.contextLength)/\(h.classSpecific)/\(h.position)/\(h.batchSize)"
            if stepSeconds[key] == nil {
                stepSeconds[key] = try secondsPerStep(cell.method, model: model, classnames: data.classnames, h)
            }
            costs.append(CellCost(cell: cell, steps: stepsPerEpoch * h.epochs, secondsPerStep: stepSeconds[key]!))
        }
        var images = 0
        for run in IndexRun.runs(for: plan) {
            let d = datasets[run.dataset]!
            if run.cropScale != nil, let shots = run.shots {        // the adapters' recipe: augmented train views only
                images += shots * d.numClasses * plan.settings.seeds.count * IndexRun.adapterViews
                continue
            }
            images += d.indexedItems(.test).count
            if let shots = run.shots {
                let classes = d.numClasses
                images += d.indexedItems(.val).count + shots * classes * plan.settings.seeds.count * (1 + plan.settings.views)
                if TrainHoldout.isNeeded(d) { images += TrainHoldout.perClass * classes }   // the selection slice, view 0
            }
        }
        return ReproductionEstimate(cells: costs, images: images, imagesPerSecond: try imagesPerSecond(model))
    }

    /// Median of 3 timed steps (after one warm-up) on random unit features.
    static func secondsPerStep(_ method: CellMethod, model: CLIPModel, classnames: [String], _ h: Hyperparameters) throws -> Double {
        var random = TrainingRandom(seed: 1)
        let context = MethodContext(model: model, classnames: classnames, dataset: nil, hyperparameters: h)
        guard let learnerMethod = method.promptMethod?.definition as? LearnerMethod.Type else {
            preconditionFailure("only the text-tower methods are timed")
        }
        let learner = try learnerMethod.learner(context, random: &random)
        let B = h.batchSize, D = model.text.embedDim
        let images = Tensor(shape: [B, D])                         // [B, D]
        for i in 0..<images.count { images[i] = Float(random.normal()) }
        Elementwise.normalizeRows(images.data, rows: B, dim: D)
        let labels = (0..<B).map { _ in random.below(classnames.count) }
        _ = learner.lossAndGradients(images: images, labels: labels)
        let times = (0..<3).map { _ -> Double in
            let start = DispatchTime.now().uptimeNanoseconds
            _ = learner.lossAndGradients(images: images, labels: labels)
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        return times.sorted()[1]
    }

    /// Images/s of the image tower on a batch of 8 random images (after one warm-up batch).
    static func imagesPerSecond(_ model: CLIPModel) throws -> Double {
        guard let encoder = model.image else { return 0 }
        let B = 8, R = encoder.imageSize
        let pixels = Tensor(shape: [B, 3, R, R])                   // [B, 3, R, R]
        var random = TrainingRandom(seed: 2)
        for i in 0..<pixels.count { pixels[i] = Float(random.normal()) }
        _ = encoder.encode(pixels: pixels.data, batch: B)
        let start = DispatchTime.now().uptimeNanoseconds
        _ = encoder.encode(pixels: pixels.data, batch: B)
        return Double(B) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
}
