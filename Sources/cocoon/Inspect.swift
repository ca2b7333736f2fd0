import ArgumentParser
import CLIP
import Foundation
import Kernels

/// `cocoon inspect MODEL_DIR [--json]`: what a model directory holds — architecture, parameter
/// count, stored dtypes, key naming, fingerprint, tokenizer files, preprocessing.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a CLIP model directory (architecture, parameters, dtypes, fingerprint).")

    @Argument(help: "Model directory (model.safetensors or open_clip_model.safetensors, optional config and tokenizer files).")
    var modelDirectory: String

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        let model = try CLIPModelDirectory(url: URL(fileURLWithPath: modelDirectory))
        if json {
            let data = try JSONSerialization.data(withJSONObject: Self.report(model), options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(Self.text(model))
        }
    }

    /// The JSON report (key names follow open_clip's config spelling).
    static func report(_ model: CLIPModelDirectory) -> [String: Any] {
        let a = model.architecture
        var vision: [String: Any]
        switch a.vision {
        case .vit(let v):
            vision = ["kind": "vit", "width": v.width, "layers": v.layers, "heads": v.heads,
                      "patch_size": v.patchSize, "image_size": v.imageSize]
        case .modifiedResNet(let r):
            vision = ["kind": "modified_resnet", "blocks_per_stage": r.blocksPerStage, "width": r.width,
                      "heads": r.heads, "image_size": r.imageSize, "output_dim": r.outputDim]
        }
        return [
            "directory": model.url.path,
            "weights_file": model.weightsURL.lastPathComponent,
            "config_file": model.configURL?.lastPathComponent ?? NSNull(),
            "naming": model.naming.rawValue,
            "architecture": [
                "embed_dim": a.embedDim, "activation": a.activation.rawValue, "vision": vision,
                "text": ["width": a.text.width, "heads": a.text.heads, "layers": a.text.layers,
                         "context_length": a.text.contextLength, "vocab_size": a.text.vocabularySize],
            ],
            "parameter_count": model.parameterCount,
            "stored_dtypes": Dictionary(uniqueKeysWithValues: model.storedDTypeCounts.map { ($0.key.rawValue, $0.value) }),
            "logit_scale": shortest(model.logitScale),
            "fingerprint": model.fingerprint.hex,
            "short_id": model.fingerprint.shortID,
            "tokenizer_files": model.tokenizerFiles?.urls.map(\.lastPathComponent) ?? [],
            "preprocess": ["image_size": model.preprocess.imageSize,
                           "mean": model.preprocess.mean.map(shortest), "std": model.preprocess.std.map(shortest)],
            "unused_tensors": model.unusedTensorNames,
        ]
    }

    /// The Double whose shortest spelling is the Float's (0.4, not 0.4000000059604645).
    private static func shortest(_ value: Float) -> Double { Double("\(value)") ?? Double(value) }

    /// The human-readable report.
    static func text(_ model: CLIPModelDirectory) -> String {
        let a = model.architecture
        let vision: String
        switch a.vision {
        case .vit(let v):
            vision = "ViT: width \(v.width), layers \(v.layers), heads \(v.heads), patch \(v.patchSize), image \(v.imageSize)×\(v.imageSize)"
        case .modifiedResNet(let r):
            vision = "ModifiedResNet: blocks \(r.blocksPerStage.map(String.init).joined(separator: ",")), width \(r.width), "
                + "attention-pool heads \(r.heads), image \(r.imageSize)×\(r.imageSize), output \(r.outputDim)"
        }
        let dtypes = model.storedDTypeCounts.sorted { $0.key.rawValue < $1.key.rawValue }
            .map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", ")
        let p = model.preprocess
        let unused = model.unusedTensorNames
        let lines: [(String, String)] = [
            ("directory", model.url.path),
            ("weights", "\(model.weightsURL.lastPathComponent) (\(model.naming.rawValue) naming)"
                + (model.configURL.map { ", config \($0.lastPathComponent)" } ?? ", architecture inferred from shapes")),
            ("text", "width \(a.text.width), layers \(a.text.layers), heads \(a.text.heads), context \(a.text.contextLength), vocabulary \(a.text.vocabularySize)"),
            ("vision", vision),
            ("embedding", "\(a.embedDim), activation \(a.activation.rawValue), logit_scale \(model.logitScale) (×\(exp(model.logitScale)))"),
            ("parameters", "\(model.parameterCount.formatted()) in \(model.weights.file.names.count) stored tensors"),
            ("dtypes", dtypes),
            ("preprocess", "image \(p.imageSize), mean \(p.mean), std \(p.std)"),
            ("tokenizer", model.tokenizerFiles?.urls.map(\.lastPathComponent).joined(separator: " + ") ?? "none"),
            ("fingerprint", "\(model.fingerprint.hex) (id \(model.fingerprint.shortID))"),
            ("unused", unused.isEmpty ? "none" : "\(unused.count): " + unused.prefix(8).joined(separator: ", ") + (unused.count > 8 ? ", …" : "")),
        ]
        return lines.map { $0.0.padding(toLength: 12, withPad: " ", startingAt: 0) + $0.1 }.joined(separator: "\n")
    }
}
