import ArgumentParser
import CLIP
import Foundation
import Indexing
import Kernels
import PromptLearning

/// `cocoon predict INPUT…`: classifies image files, folders (searched recursively, sorted) and
/// `@LIST` files (one path per line) with a learned prompt or zero-shot CLIP, streaming the top-k
/// labels with probabilities (softmax of the logit-scaled cosines) as a table, CSV or JSON lines.
/// Decoding runs on the index pipeline's threads (same decoders, same eval transform as view 0);
/// unreadable files are reported with the index's one-line reasons and skipped.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify images with a learned prompt or few-shot adapter (any `cocoon tune` checkpoint) or zero-shot CLIP.")
    @Argument(help: "Image files, folders (searched recursively) or @FILE lists (one path per line).") var inputs: [String]
    @OptionGroup var classifier: ClassifierOptions
    @Option(help: "Labels per image.") var top: Int = 5
    @Option(help: "Output format: table, csv or jsonl.") var format: String = "table"
    @Option(help: "Images per encoder batch.") var batch: Int = 32
    @Option(name: .customLong("decode-threads"), help: "Threads decoding images while the encoder runs.") var decodeThreads: Int = 2
    @Option(help: threadsHelp) var threads: Int?
    @Option(help: precisionHelp) var precision: String = "fp32"
    @Flag(help: "No progress line.") var quiet = false

    static let imageExtensions: Set<String> = ["jpg", "jpeg", "png"]

    func run() throws {
        guard ["table", "csv", "jsonl"].contains(format) else { throw OptionError("--format \(format): use table, csv or jsonl") }
        guard top >= 1, batch >= 1, decodeThreads >= 1 else { throw OptionError("--top, --batch and --decode-threads must be at least 1") }
        configureCompute(threads: threads)
        let files = try Self.expand(inputs)
        guard !files.isEmpty else { throw OptionError("predict: no JPEG or PNG files in \(inputs.joined(separator: ", "))") }
        let model = try CLIPModel(directory: URL(fileURLWithPath: classifier.model), loadImageTower: true)
        guard let encoder = model.image else {
            throw OptionError("\(classifier.model): the model has no image tower; predict needs a full CLIP model directory")
        }
        encoder.use(try Precision(option: precision))
        let (head, classnames, description) = try classifier.load(model)
        FileHandle.standardError.write(Data("\(description) on \(files.count) images\n".utf8))

        let renderer = ViewRenderer(imageSize: encoder.imageSize,
                                    normalization: try ExtractorDescription.normalization(model.directory.preprocess), seed: 0)
        let jobs = files.enumerated().map { ViewJob(item: UInt32($0.offset), url: $0.element, key: $0.element.path, views: [0]) }
        let pipeline = DecodePipeline(jobs: jobs, threads: decodeThreads, capacity: max(2 * decodeThreads, 2 * batch),
                                      prepare: renderer.render)
        let R = encoder.imageSize, D = encoder.embedDim, plane = 3 * R * R
        let pixels = Tensor(shape: [batch, 3, R, R])                     // [B, 3, R, R]
        var paths: [String] = []
        var done = 0, unreadable = 0
        let progress = quiet ? nil : ProgressReporter(label: "predict", total: files.count, unit: "images")
        let output = PredictionWriter(format: format, classnames: classnames, top: top)
        func classifyBatch() {
            guard !paths.isEmpty else { return }
            let features = encoder.encode(pixels: pixels.data, batch: paths.count)      // [n, D]
            Elementwise.normalizeRows(features.data, rows: paths.count, dim: D)
            let logits = head.logits(images: features)                                  // [n, K]
            output.write(paths: paths, logits: logits)
            done += paths.count
            paths.removeAll(keepingCapacity: true)
            progress?.update(done: done + unreadable, detail: "\(unreadable) unreadable")
        }
        output.begin()
        while let prepared = pipeline.next() {
            guard let image = prepared.pixels else {
                FileHandle.standardError.write(Data("skipped: \(prepared.error ?? prepared.job.url.path)\n".utf8))
                unreadable += 1
                continue
            }
            (pixels.data + paths.count * plane).update(from: image.data, count: plane)
            paths.append(prepared.job.url.path)
            if paths.count == batch { classifyBatch() }
        }
        classifyBatch()
        progress?.finish(done: done + unreadable, detail: "\(unreadable) unreadable")
        FileHandle.standardError.write(Data("\(done) images classified, \(unreadable) unreadable (skipped)\n".utf8))
    }

    /// Image files of the inputs, in order: files as given, folders' images sorted by path, and
    /// the lines of `@LIST` files (relative paths resolve against the list's folder).
    static func expand(_ inputs: [String]) throws -> [URL] {
        var out: [URL] = []
        for input in inputs {
            if input.hasPrefix("@") {
                let list = URL(fileURLWithPath: String(input.dropFirst()))
                guard let text = try? String(contentsOf: list, encoding: .utf8) else {
                    throw OptionError("\(list.path): cannot read the file list; check the path after @")
                }
                for line in text.split(whereSeparator: \.isNewline) where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                    let path = line.trimmingCharacters(in: .whitespaces)
                    out.append(path.hasPrefix("/") ? URL(fileURLWithPath: path) : list.deletingLastPathComponent().appendingPathComponent(path))
                }
                continue
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory) else {
                throw OptionError("\(input): no such file or folder")
            }
            guard isDirectory.boolValue else { out.append(URL(fileURLWithPath: input)); continue }
            let root = URL(fileURLWithPath: input)
            var found: [String] = []
            if let walker = FileManager.default.enumerator(atPath: input) {
                for case let relative as String in walker where imageExtensions.contains((relative as NSString).pathExtension.lowercased()) {
                    found.append(relative)
                }
            }
            out += found.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { root.appendingPathComponent($0) }
        }
        return out
    }
}

/// Streams `predict`'s rows: the top-k classes of each image with softmax probabilities.
final class PredictionWriter {
    let format: String
    let classnames: [String]
    let top: Int

    init(format: String, classnames: [String], top: Int) {
        self.format = format; self.classnames = classnames; self.top = min(top, classnames.count)
    }

    func begin() {
        if format == "csv" { print("path,rank,label,class,probability") }
    }

    /// `logits` [n, K] of `paths`, in order.
    func write(paths: [String], logits: Tensor) {
        for (i, path) in paths.enumerated() {
            let best = Predictions.top(logits, row: i, count: top)
            switch format {
            case "csv":
                for (rank, b) in best.enumerated() {
                    print("\(csvField(path)),\(rank + 1),\(b.label),\(csvField(classnames[b.label])),\(String(format: "%.6f", b.probability))")
                }
            case "jsonl":
                let labels = best.map { ["label": $0.label, "class": classnames[$0.label], "probability": $0.probability] as [String: Any] }
                let data = try! JSONSerialization.data(withJSONObject: ["path": path, "top": labels], options: [.sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            default:
                print(path + "  " + best.map { "\(classnames[$0.label]) \(String(format: "%.1f%%", 100 * $0.probability))" }.joined(separator: "  "))
            }
        }
        fflush(stdout)
    }

    private func csvField(_ s: String) -> String {
        s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
