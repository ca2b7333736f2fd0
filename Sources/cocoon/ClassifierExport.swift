import ArgumentParser
import CLIP
import FeatureCache
import Formats
import Foundation
import Kernels
import PromptLearning

/// `cocoon classifier`: a learned CoOp prompt's or zero-shot CLIP's class text features, the K×D
/// matrix of unit rows, with the class names, the logit scale and the model fingerprint, for use
/// outside cocoon: `weights.npy` + `classifier.json` (NumPy) and `classifier.safetensors` (the
/// same matrix as tensor "weights", the JSON fields as string metadata). Logits of an image are
/// `logit_scale · normalise(x) · Wᵀ`, as `eval` and `zeroshot` compute them. A CoCoOp prompt
/// conditions its text on each image, so it has no fixed matrix and is refused.
struct ClassifierExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classifier",
        abstract: "Export a prompt's or zero-shot's class text features (K×D) for use outside cocoon.")
    @OptionGroup var classifier: ClassifierOptions
    @Option(help: "Output directory (created): weights.npy, classifier.json, classifier.safetensors.") var out: String

    func run() throws {
        configureCompute(threads: nil)
        let model = try CLIPModel(directory: URL(fileURLWithPath: classifier.model), loadImageTower: false)
        let (loaded, classnames, source) = try classifier.load(model)
        guard let text = loaded as? TextClassifier else {
            throw OptionError("\(classifier.prompt ?? "prompt"): a CoCoOp prompt conditions its text on each image (Meta-Net), so it has no fixed class matrix; classify with `cocoon predict`")
        }
        let K = text.weights.shape[0], D = text.weights.shape[1]
        let directory = URL(fileURLWithPath: out)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw OptionError("\(out): cannot create the output directory (\(error.localizedDescription))")
        }
        let logitScale = Double(text.logitScale)
        let fingerprint = model.directory.fingerprint.hex
        let fields: [String: Any] = [
            "classnames": classnames, "logit_scale": logitScale, "model_fingerprint": fingerprint,
            "source": source, "shape": [K, D], "format_version": 1,
        ]

        let npy = directory.appendingPathComponent("weights.npy")
        try NPYWriter.write(UnsafeBufferPointer(text.weights.buffer), shape: [K, D], to: npy.path)
        print("\(npy.path): float32 [\(K), \(D)] (unit rows)")

        let jsonURL = directory.appendingPathComponent("classifier.json")
        let json = try JSONSerialization.data(withJSONObject: fields, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        do {
            try (json + Data("\n".utf8)).write(to: jsonURL, options: .atomic)
        } catch {
            throw OptionError("\(jsonURL.path): cannot write (\(error.localizedDescription)); check the directory")
        }
        print("\(jsonURL.path): \(K) class names, logit scale \(logitScale), \(source)")

        var writer = SafeTensorsWriter()
        try writer.add("weights", text.weights)
        func compact(_ value: Any) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
        }
        writer.metadata = [
            "classnames": try compact(classnames), "logit_scale": "\(logitScale)", "model_fingerprint": fingerprint,
            "source": source, "shape": try compact([K, D]), "format_version": "1",
        ]
        let safetensors = directory.appendingPathComponent("classifier.safetensors")
        try writer.write(to: safetensors)
        print("\(safetensors.path): tensor \"weights\" F32 [\(K), \(D)] with the same fields as metadata")
    }
}
