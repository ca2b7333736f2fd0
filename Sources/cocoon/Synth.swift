import ArgumentParser
import Foundation
import SyntheticShapes

/// `cocoon synth --out DIR [--layout demo|coop] [--corpus N] [--seed S]`: writes the demo's downstream
/// datasets (`--layout demo`, the default: `DIR/<name>/split.json` + PNGs; see `DemoDataset.standard`)
/// or CoOp's 15 datasets in their official layouts with DIR as `$DATA` (`--layout coop`, sized by
/// `--classes` and `--per-class`; see `CoOpLayoutWorld`) and, with `--corpus N`, the pretraining corpus
/// `DIR/corpus/` (raw images, captions, labels) read by tools/train_demo_clip.py.
struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate the synthetic shapes world: downstream datasets (demo split-JSON or CoOp's layouts) and an optional pretraining corpus.")

    /// Which downstream datasets to write.
    enum Layout: String, ExpressibleByArgument, CaseIterable {
        case demo, coop
    }

    @Option(help: "Output folder (created if needed; the $DATA root for --layout coop).")
    var out: String

    @Option(help: "demo: the demo's split-JSON datasets; coop: CoOp's 11 datasets and 4 ImageNet variants in their official layouts.")
    var layout: Layout = .demo

    @Option(help: "Classes per dataset for --layout coop (1…64; default 8).")
    var classes: Int?

    @Option(help: "Images per class TRAIN,VAL,TEST for --layout coop (default 8,2,6).")
    var perClass: String?

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
        if layout == .demo, classes != nil || perClass != nil {
            throw ValidationError("--classes and --per-class size the coop layout; add --layout coop or drop them")
        }
        let root = URL(fileURLWithPath: out)
        if !noDatasets {
            switch layout {
            case .demo: try writeDemo(root)
            case .coop: try writeCoOp(root)
            }
        }
        if corpus > 0 {
            let start = Date()
            let folder = root.appendingPathComponent("corpus")
            try SyntheticCorpus.write(to: folder, count: corpus, seed: seed, imageSize: imageSize, threads: threads)
            print("corpus: \(corpus) image–caption pairs → \(folder.path) (\(seconds(since: start)))")
        }
    }

    private func writeDemo(_ root: URL) throws {
        for dataset in DemoDataset.standard {
            let start = Date()
            try dataset.write(into: root, seed: seed, imageSize: imageSize, threads: threads)
            let n = DemoDataset.splits.map { dataset.items($0).count }
            print("\(dataset.name): \(dataset.classes.count) classes, train/val/test \(n[0])/\(n[1])/\(n[2]) images"
                  + " → \(root.appendingPathComponent(dataset.name).path) (\(seconds(since: start)))")
        }
    }

    private func writeCoOp(_ root: URL) throws {
        let counts = try (perClass ?? "8,2,6").split(separator: ",", omittingEmptySubsequences: false).map { field -> Int in
            guard let n = Int(field.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--per-class \(perClass ?? ""): give three integers TRAIN,VAL,TEST such as 8,2,6")
            }
            return n
        }
        guard counts.count == 3 else {
            throw ValidationError("--per-class \(perClass ?? ""): give three integers TRAIN,VAL,TEST such as 8,2,6")
        }
        let world = CoOpLayoutWorld(classesPerDataset: classes ?? 8, perClass: (counts[0], counts[1], counts[2]),
                                    imageSize: imageSize, seed: seed)
        var start = Date()
        try world.write(into: root, threads: threads) { dataset in
            let n = dataset.counts
            print("\(dataset.name): \(dataset.classes.count) classes, train/val/test \(n.train)/\(n.val)/\(n.test) images"
                  + " → \(root.appendingPathComponent(dataset.folder).path) (\(seconds(since: start)))")
            start = Date()
        }
    }

    private func seconds(since start: Date) -> String {
        String(format: "%.1f s", Date().timeIntervalSince(start))
    }
}
