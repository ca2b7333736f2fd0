import ArgumentParser
import CLIP
import Foundation
import Kernels
import PromptLearning

/// `cocoon bench tune`: seconds per CoOp / CoCoOp / KgCoOp / ProGrad training step on a real-size ViT-B/32 text tower
/// (random weights), cached image features, with peak memory and the FLOPs of the step's weight
/// products against the sgemm peak at the same thread count; each case in its own process, at 1
/// thread and at every core by default.
struct BenchTune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune", abstract: "Seconds per CoOp/CoCoOp/KgCoOp/ProGrad step and peak memory (ViT-B/32 text tower).")
    @OptionGroup var options: BenchOptions
    @Option(help: "Cases method:K (default: coop:10,coop:37,coop:100,coop:1000,cocoop:37,cocoop:100,kgcoop:100,prograd:100).")
    var cases: String = "coop:10,coop:37,coop:100,coop:1000,cocoop:37,cocoop:100,kgcoop:100,prograd:100"
    @Option(help: "Run one case in this process (used internally).") var only: String?
    @Option(help: "Activation memory budget of a step in GiB (passes beyond it are recomputed).") var budget: Double = 3
    @Option(help: "Text tower precisions, comma-separated, each case run in each (default: fp32, and bf16 where the CPU has it).")
    var precision: String?
    @Option(name: .customLong("thread-counts"), help: "Thread counts, comma-separated (default: 1 and all cores; --threads N: N only).")
    var threadCounts: String?
    @Option(help: "sgemm GFLOPS at this thread count (passed to --only runs).") var peak: Double?

    func run() throws {
        let precisions = try benchPrecisions(precision)
        if let only { return try runCase(only, precision: precisions[0]) }
        configureCompute(threads: options.threads)
        for threads in try benchThreadCounts(threadCounts, threads: options.threads) {
            _ = Threads.configure(threads)
            let sgemm = SgemmPeak.measure(), peak = sgemm.gflops
            print("\(threads) threads: \(sgemm.description)")
            fflush(stdout)
            for c in cases.split(separator: ",") {
                for p in precisions {
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
                    process.arguments = ["bench", "tune", "--only", String(c), "--precision", p.rawValue, "--repeats", String(options.repeats),
                                         "--budget", String(budget), "--threads", String(threads), "--peak", String(peak)]
                    try process.run()
                    process.waitUntilExit()
                }
            }
        }
    }

    private func runCase(_ spec: String, precision: Precision) throws {
        let parts = spec.split(separator: ":")
        guard parts.count == 2, let method = PromptMethod(rawValue: String(parts[0])), PromptMethod.promptLearners.contains(method),
              let K = Int(parts[1]) else {
            throw ValidationError("case \(spec): expected METHOD:K with METHOD one of \(PromptMethod.promptLearners.map(\.rawValue).joined(separator: ", ")) (the methods that train through the text tower)")
        }
        _ = Threads.configure(options.threads, serialBLAS: true)   // as `tune`; the parent printed any kernel advice
        let encoder = try TextTransformer(weights: SyntheticWeights(), width: 512, heads: 8, layers: 12,
                                          contextLength: 77, vocabularySize: 49408, embedDim: 512)
        encoder.use(precision)
        var random = TrainingRandom(seed: 1)
        let tails: [[Int32]] = (0..<K).map { k in (0..<(1 + k % 4)).map { _ in Int32(1000 + random.below(40000)) } + [269, 49407] }
        // The official settings' context length and batch (`Hyperparameters.defaults`).
        let h = Hyperparameters.defaults(method, shots: 16, dataset: "ImageNet")
        let M = h.contextLength, B = h.batchSize
        let layout = PromptLayout(startOfText: 49406, tails: tails, nameLengths: tails.map { $0.count - 2 }, contextLength: M,
                                  position: .end, classSpecific: false)
        let memoryBudget = Int(budget * Double(1 << 30))
        // KgCoOp's anchor and ProGrad's teacher: "a photo of a {name}." for each class
        let handCrafted = tails.map { tail -> [Int32] in
            let row: [Int32] = [49406, 320, 1125, 539, 320] + tail
            return row + [Int32](repeating: 0, count: 77 - row.count)
        }
        let learner: PromptLearner
        switch method {
        case .cocoop:
            learner = try CoCoOpLearner(encoder: encoder, layout: layout, logitScale: 100, random: &random, memoryBudget: memoryBudget)
        case .coop, .kgcoop, .prograd:
            let coop = CoOpLearner(encoder: encoder, layout: layout, logitScale: 100, random: &random, memoryBudget: memoryBudget)
            switch method {
            case .kgcoop: learner = KgCoOpLearner(coop: coop, anchorTokens: handCrafted, weight: Float(h.kgcoopWeight!))
            case .prograd: learner = ProGradLearner(coop: coop, teacherTokens: handCrafted, lambda: Float(h.progradLambda!))
            default: learner = coop
            }
        default:
            preconditionFailure("only the prompt learners are timed")
        }
        let images = Tensor(shape: [B, 512])
        for i in 0..<images.count { images[i] = Float(random.normal()) }
        Elementwise.normalizeRows(images.data, rows: B, dim: 512)
        let labels = (0..<B).map { _ in random.below(K) }
        let optimizers = learner.parameters.map { SGD(count: $0.tensor.count, momentum: 0.9, weightDecay: 5e-4) }
        var flops = 0   // of the weight products in one step (the same every step)
        let seconds = medianSeconds(repeats: options.repeats) {
            let before = ProductWork.flops
            let (_, gradients) = learner.lossAndGradients(images: images, labels: labels)
            for ((_, p), (o, g)) in zip(learner.parameters, zip(optimizers, gradients)) {
                withExtendedLifetime((p, g)) { o.step(parameters: p.data, gradients: g.data, learningRate: 0.002) }
            }
            flops = ProductWork.flops - before
        }
        let rate = Double(flops) / seconds / 1e9
        let share = peak.map { String(format: " = %.0f%% of sgemm", 100 * rate / $0) } ?? ""
        print(String(format: "%@ K=%5d M=%2d batch %2d %@, %d threads: %.3f s/step, %.1f GFLOP/step in weight products, %.1f GFLOPS%@, peak RSS %.2f GiB",
                     method.rawValue, K, M, B, precision.rawValue, Threads.current, seconds, Double(flops) / 1e9, rate, share,
                     Double(peakResidentBytes()) / Double(1 << 30)))
        fflush(stdout)
    }
}

/// Peak resident set size of this process (VmHWM), in bytes.
func peakResidentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return kb * 1024
    }
    return 0
}
