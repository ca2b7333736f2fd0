import ArgumentParser
import CLIP
import Foundation
import Kernels

/// `cocoon inspect MODEL_DIR [--json] [--verify]`: what a model directory holds — architecture, parameter
/// count, stored dtypes, key naming, fingerprint, tokenizer files, preprocessing. `--verify` rehashes
/// the weights, compares with the cached fingerprint and refreshes the cache.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a CLIP model directory (architecture, parameters, dtypes, fingerprint).")

    @Argument(help: "Model directory (model.safetensors or open_clip_model.safetensors, optional config and tokenizer files).")
    var modelDirectory: String

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @Flag(help: "Recompute the fingerprint from the weights, compare it with the cached one and refresh the cache (fails if they differ).")
    var verify = false

    func run() throws {
        let model = try CLIPModelDirectory(url: URL(fileURLWithPath: modelDirectory))
        let verification = verify ? model.verifyFingerprint() : nil
        if json {
            var report = Self.report(model)
            if let v = verification { report["fingerprint_verification"] = Self.report(v) }
            let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(Self.text(model) + (verification.map { "\n" + Self.text($0) } ?? ""))
        }
        if let v = verification, v.isMismatch, let cached = v.cached {
            throw CheckpointError("\(model.weightsURL.path): cached fingerprint \(cached.shortID)… does not match the weights (\(v.computed.shortID)…): "
                + "the file changed keeping its size, times and inode; the cache \(v.cacheRefreshed ? "now holds" : "could not be updated to") \(v.computed.shortID)… — "
                + "redo indexing and tuning done with this model since the change, and run `cocoon inspect --verify` after replacing weights in place")
        }
    }

    /// The `--verify` part of the JSON report.
    static func report(_ v: FingerprintVerification) -> [String: Any] {
        ["cached": v.cached?.hex ?? NSNull(), "recomputed": v.computed.hex,
         "match": v.cached == v.computed, "cache_file": v.cacheFile?.path ?? NSNull(), "cache_refreshed": v.cacheRefreshed]
    }

    /// The `--verify` lines of the text report.
    static func text(_ v: FingerprintVerification) -> String {
        let verdict: String
        if v.isMismatch { verdict = "MISMATCH: the cached fingerprint is stale" }
        else if v.cached == nil { verdict = "no cached fingerprint matched the file" }
        else { verdict = "match" }
        let file = v.cacheFile.map { " (\($0.path))" } ?? ""
        let cache = (v.cacheRefreshed ? "; cache refreshed" : "; cache not written") + file
        let lines: [(String, String)] = [
            ("cached", v.cached?.hex ?? "none"),
            ("recomputed", v.computed.hex),
            ("verify", verdict + cache),
        ]
        return lines.map { $0.0.padding(toLength: 12, withPad: " ", startingAt: 0) + $0.1 }.joined(separator: "\n")
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
