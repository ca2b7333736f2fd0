import ArgumentParser
import CLIP
import Foundation
import Kernels

/// `cocoon bench text`: text-tower throughput for CoOp-shaped prompts (SOT + M context + class + "." + EOT).
struct BenchText: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text",
        abstract: "Prompts/s and GFLOPS of the text transformer (inference and training step shapes).")
    @OptionGroup var options: BenchOptions
    @Option(help: "Prompt counts K.") var classes: [Int] = [10, 100, 1000]
    @Option(help: "Context length M.") var context: Int = 16
    @Option(help: "Text width (random weights of ViT-B/32's text tower when no --model).") var width: Int = 512
    @Option(help: "Layers.") var layers: Int = 12

    func run() throws {
        let threads = configureCompute(threads: options.threads)
        let sgemm = SgemmPeak.measure(), peak = sgemm.gflops
        let encoder = try TextTransformer(weights: SyntheticWeights(), width: width, heads: width / 64, layers: layers,
                                          contextLength: 77, vocabularySize: 49408, embedDim: 512)
        print(String(format: "text transformer W=%d L=%d, %d threads, %@", width, layers, threads, sgemm.description))
        for K in classes {
            // class names of 1–4 tokens, like real datasets
            let tokens: [[Int32]] = (0..<K).map { k in
                var row: [Int32] = [49406] + [Int32](repeating: 343, count: context)
                row += (0..<(1 + k % 4)).map { Int32(1000 + ($0 * 7919 + k * 104729) % 40000) }
                row += [269, 49407]
                return row + [Int32](repeating: 0, count: 77 - row.count)
            }
            let tokensComputed = tokens.reduce(0) { $0 + TextTransformer.eotIndex($1) + 1 }
            let s = medianSeconds(repeats: options.repeats) { _ = encoder.encode(tokens: tokens) }
            let flops = Double(tokensComputed) * encoder.flopsPerToken(attendedKeys: 12)
            print(String(format: "K=%5d  encode: %.4f s  %8.0f prompts/s  %.1f GFLOPS (%.0f%% of sgemm)",
                         K, s, Double(K) / s, flops / s / 1e9, 100 * flops / s / 1e9 / peak))
        }
    }
}
