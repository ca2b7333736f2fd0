import ArgumentParser
import CLIP
import FeatureCache
import Formats
import Foundation
import Kernels
import PromptLearning

/// `cocoon classifier`: a trained classifier's arrays, for use outside cocoon: each as `<name>.npy`,
/// the fields (class names, kind, logit scale, model fingerprint, …) as `classifier.json`, and all
/// of it as `classifier.safetensors` (the JSON fields as string metadata). Every kind has a
/// `weights` K×D class matrix; README "Using a learned classifier outside cocoon" gives the NumPy
/// lines of each kind, which score `query export` features as `eval` does:
/// - `text` (CoOp, KgCoOp, ProGrad, TaskRes, zero-shot): unit rows, logits `logit_scale · x̂ · Wᵀ`;
/// - `linear` (LP++: W + diag(α)·T; the linear probe: its W) and `bias`, logits `x̂ · Wᵀ + b`;
/// - `tip-adapter` (Tip-Adapter, Tip-Adapter-F): `cache_keys`, `cache_values` (one-hot), α, β;
/// - `clip-adapter`: the adapter's `fc1`, `fc2` and its ratio.
/// A CoCoOp prompt conditions its text on each image, so it has no fixed matrix and is refused.
struct ClassifierExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classifier",
        abstract: "Export a trained classifier's class matrix (K×D) and arrays (prompt, adapter or zero-shot) for use outside cocoon.")
    @OptionGroup var classifier: ClassifierOptions
    @Option(help: "Output directory (created): weights.npy (+ the kind's arrays), classifier.json, classifier.safetensors.") var out: String

    func run() throws {
        configureCompute(threads: nil)
        let model = try CLIPModel(directory: URL(fileURLWithPath: classifier.model), loadImageTower: false)
        let (loaded, classnames, source) = try classifier.load(model)
        guard let export = ExportedArrays(loaded) else {
            throw OptionError("\(classifier.prompt ?? "prompt"): a CoCoOp prompt conditions its text on each image (Meta-Net), so it has no fixed class matrix; classify with `cocoon predict`")
        }
        let weights = export.arrays[0].tensor
        let K = weights.shape[0], D = weights.shape[1]
        let directory = URL(fileURLWithPath: out)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw OptionError("\(out): cannot create the output directory (\(error.localizedDescription))")
        }
        let fingerprint = model.directory.fingerprint.hex
        var fields: [String: Any] = [
            "classnames": classnames, "logit_scale": export.logitScale, "model_fingerprint": fingerprint,
            "source": source, "shape": [K, D], "format_version": 1, "kind": export.kind,
        ]
        for (name, value) in export.scalars { fields[name] = value }

        for (name, tensor) in export.arrays {
            let npy = directory.appendingPathComponent("\(name).npy")
            try NPYWriter.write(UnsafeBufferPointer(tensor.buffer), shape: tensor.shape, to: npy.path)
            print("\(npy.path): float32 \(tensor.shape)")
        }

        let jsonURL = directory.appendingPathComponent("classifier.json")
        let json = try JSONSerialization.data(withJSONObject: fields, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        do {
            try (json + Data("\n".utf8)).write(to: jsonURL, options: .atomic)
        } catch {
            throw OptionError("\(jsonURL.path): cannot write (\(error.localizedDescription)); check the directory")
        }
        print("\(jsonURL.path): \(export.kind) classifier, \(K) class names, logit scale \(export.logitScale), \(source)")

        var writer = SafeTensorsWriter()
        for (name, tensor) in export.arrays { try writer.add(name, tensor) }
        func compact(_ value: Any) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed]), as: UTF8.self)
        }
        for (name, value) in fields { writer.metadata[name] = try (value as? String) ?? compact(value) }
        let safetensors = directory.appendingPathComponent("classifier.safetensors")
        try writer.write(to: safetensors)
        print("\(safetensors.path): tensors \(export.arrays.map(\.name).joined(separator: ", ")) with the same fields as metadata")
    }
}

/// What `cocoon classifier` writes of a classifier: its kind, its arrays (`weights` first) and its
/// scalar fields; nil for a classifier without a fixed class matrix (CoCoOp).
struct ExportedArrays {
    let kind: String
    let arrays: [(name: String, tensor: Tensor)]
    let logitScale: Double
    let scalars: [String: Double]

    init?(_ classifier: Classifier) {
        switch classifier {
        case let text as TextClassifier:
            (kind, arrays, logitScale, scalars) = ("text", [("weights", text.weights)], Double(text.logitScale), [:])
        case let probe as LinearProbe:
            (kind, arrays, logitScale, scalars) = ("linear", [("weights", probe.weight), ("bias", probe.bias)], 1, ["lambda": probe.lambda])
        case let linear as LPPlusPlusClassifier:
            (kind, arrays, logitScale, scalars) = ("linear", [("weights", linear.foldedWeights()), ("bias", linear.bias)], 1, [:])
        case let tip as TipAdapter:
            (kind, arrays, logitScale) = ("tip-adapter", [("weights", tip.textWeights), ("cache_keys", tip.keys), ("cache_values", tip.values)], 100)
            scalars = ["alpha": tip.alpha, "beta": tip.beta]
        case let adapter as CLIPAdapterLearner:
            (kind, arrays, logitScale) = ("clip-adapter", [("weights", adapter.textFeatures), ("fc1", adapter.weight1), ("fc2", adapter.weight2)],
                                          Double(adapter.logitScale))
            scalars = ["ratio": Double(adapter.ratio)]
        default:
            return nil
        }
    }
}
