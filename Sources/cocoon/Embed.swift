import ArgumentParser
import CLIP
import Formats
import Foundation
import Imaging
import Indexing
import Kernels

/// `cocoon embed --model DIR --text … --image …`: CLIP embeddings of texts and images, texts first,
/// in input order; L2-normalised unless `--raw`. `--json` prints exactly
/// `{"embeddings": [{"input": "...", "vector": [...]}, ...]}` (read by tools/parity_full.py).
struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print CLIP embeddings of texts and images.")
    @Option(help: "Model directory.") var model: String
    @Option(name: .customLong("text"), help: "A text (repeatable).") var texts: [String] = []
    @Option(name: .customLong("image"), help: "A JPEG or PNG file (repeatable).") var images: [String] = []
    @Flag(help: "Print JSON.") var json = false
    @Flag(help: "Unnormalised features (the projection output).") var raw = false
    @Option(help: threadsHelp) var threads: Int?
    @Option(help: precisionHelp) var precision: String = "fp32"

    func run() throws {
        guard !texts.isEmpty || !images.isEmpty else { throw OptionError("embed: pass at least one --text or --image") }
        configureCompute(threads: threads)
        let m = try CLIPModel(directory: URL(fileURLWithPath: model), loadImageTower: !images.isEmpty)
        var rows: [(input: String, vector: [Float])] = []
        if !texts.isEmpty {
            let features = m.text.encode(tokens: try m.tokenize(texts))     // [T, D]
            rows += collect(features, inputs: texts)
        }
        if !images.isEmpty, let encoder = m.image {
            encoder.use(try Precision(option: precision))
            let R = encoder.imageSize, plane = 3 * R * R
            let normalization = try ExtractorDescription.normalization(m.directory.preprocess)
            let pixels = Tensor(shape: [images.count, 3, R, R])             // [I, 3, R, R]
            for (i, path) in images.enumerated() {
                let image = try ImageDecoder.decode(file: URL(fileURLWithPath: path))
                Preprocess.view(image, view: 0, seed: 0, itemKey: path, size: R, normalization: normalization,
                                into: pixels.data + i * plane)
            }
            rows += collect(encoder.encode(pixels: pixels.data, batch: images.count), inputs: images)
        }
        if json {
            let body = rows.map { "{\"input\": \(JSONString.quoted($0.input)), \"vector\": [\($0.vector.map { "\($0)" }.joined(separator: ", "))]}" }
            print("{\"embeddings\": [\(body.joined(separator: ", "))]}")
        } else {
            for r in rows { print("\(r.input)\t\(r.vector.map { "\($0)" }.joined(separator: " "))") }
        }
    }

    /// Rows of `features` ([N, D]), normalised unless `--raw`.
    private func collect(_ features: Tensor, inputs: [String]) -> [(String, [Float])] {
        let D = features.shape[1]
        if !raw { Elementwise.normalizeRows(features.data, rows: inputs.count, dim: D) }
        return inputs.enumerated().map { ($1, Array(UnsafeBufferPointer(start: features.data + $0 * D, count: D))) }
    }
}
