import ArgumentParser
import Foundation
import SyntheticShapes

/// `cocoon synth --out DIR [--corpus N] [--seed S]`: writes the demo's downstream datasets
/// (`DIR/<name>/split.json` + PNGs; see `DemoDataset.standard`) and, with `--corpus N`, the
/// pretraining corpus `DIR/corpus/` (raw images, captions, labels) read by tools/train_demo_clip.py.
struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate the synthetic shapes world: downstream datasets (split-JSON) and an optional pretraining corpus.")

    @Option(help: "Output folder (created if needed).")
    var out: String

    @Option(help: "Seed of every generated image (same seed → identical bytes).")
    var seed: UInt64 = 1

    @Option(help: "Also write a pretraining corpus of N image–caption pairs to OUT/corpus (0: none).")
    var corpus: Int = 0

    @Flag(help: "Skip the downstream datasets (write only the corpus).")
    var noDatasets = false

    @Option(help: "Image side in pixels.")
    var imageSize: Int = 64

    @Option(help: "Worker threads (the output does not depend on it).")
    var threads: Int = 1

    func run() throws {
        guard imageSize >= 16 else { throw ValidationError("--image-size \(imageSize): use 16 or more pixels") }
        guard corpus >= 0 else { throw ValidationError("--corpus \(corpus): give a count ≥ 0") }
        let root = URL(fileURLWithPath: out)
        if !noDatasets {
            for dataset in DemoDataset.standard {
                let start = Date()
                try dataset.write(into: root, seed: seed, imageSize: imageSize, threads: threads)
                let n = DemoDataset.splits.map { dataset.items($0).count }
                print("\(dataset.name): \(dataset.classes.count) classes, train/val/test \(n[0])/\(n[1])/\(n[2]) images"
                      + " → \(root.appendingPathComponent(dataset.name).path) (\(seconds(since: start)))")
            }
        }
        if corpus > 0 {
            let start = Date()
            let folder = root.appendingPathComponent("corpus")
            try SyntheticCorpus.write(to: folder, count: corpus, seed: seed, imageSize: imageSize, threads: threads)
            print("corpus: \(corpus) image–caption pairs → \(folder.path) (\(seconds(since: start)))")
        }
    }

    private func seconds(since start: Date) -> String {
        String(format: "%.1f s", Date().timeIntervalSince(start))
    }
}
