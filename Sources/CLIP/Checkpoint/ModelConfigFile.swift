import Foundation

/// What a model directory's config file says: `open_clip_config.json` (`model_cfg`, `preprocess_cfg`)
/// or Hugging Face `config.json` (+ `preprocessor_config.json`). Missing fields take that library's
/// defaults. `CLIPModelDirectory` reconciles it with the architecture inferred from the weights:
/// shape-given sizes must agree, heads and activation come from the config.
struct ModelConfigFile {
    /// Preprocessing values a config states (nil = not stated).
    struct StatedPreprocess {
        var path: String
        var imageSize: Int?
        var mean: [Float]?
        var std: [Float]?
    }

    let path: String
    let stated: CLIPArchitecture
    /// Config field name for each architecture field ("text.width" → "model_cfg.text_cfg.width").
    let labels: [String: String]
    let preprocess: StatedPreprocess?

    // MARK: open_clip

    /// Reads `open_clip_config.json`; defaults are open_clip 3.3.0's `CLIPTextCfg`/`CLIPVisionCfg`.
    static func openCLIP(_ url: URL) throws -> ModelConfigFile {
        let root = try JSONFields.load(url)
        let model = try root.child("model_cfg")
        guard !model.object.isEmpty else { throw CheckpointError("\(url.path): no model_cfg object") }
        for key in ["text_cfg", "vision_cfg"] where !model.has(key) {
            throw CheckpointError("\(url.path): missing model_cfg.\(key)")
        }
        let t = try model.child("text_cfg"), v = try model.child("vision_cfg")
        try t.requireDefault("hf_model_name") { _ in false }
        try v.requireDefault("timm_model_name") { $0 is NSNull }
        let defaults: [(JSONFields, String, (Any) -> Bool)] = [
            (t, "mlp_ratio", { ($0 as? NSNumber)?.doubleValue == 4 }), (v, "mlp_ratio", { ($0 as? NSNumber)?.doubleValue == 4 }),
            (t, "ls_init_value", { $0 is NSNull }), (v, "ls_init_value", { $0 is NSNull }),
            (t, "no_causal_mask", { ($0 as? Bool) == false }), (t, "embed_cls", { ($0 as? Bool) == false }),
            (t, "pool_type", { ($0 as? String) == "argmax" }), (t, "proj_type", { ($0 as? String) == "linear" }),
            (t, "proj_bias", { ($0 as? Bool) == false }), (t, "final_ln_after_pool", { ($0 as? Bool) == false }),
            (v, "attentional_pool", { ($0 as? Bool) == false }), (v, "no_ln_pre", { ($0 as? Bool) == false }),
            (v, "pool_type", { ($0 as? String) == "tok" }), (v, "final_ln_after_pool", { ($0 as? Bool) == false }),
            (v, "pos_embed_type", { ($0 as? String) == "learnable" }),
        ]
        for (fields, key, isDefault) in defaults { try fields.requireDefault(key, isDefault) }

        let embedDim = try model.int("embed_dim")
        let text = TextTowerArchitecture(
            width: try t.int("width", default: 512), heads: try t.int("heads", default: 8),
            layers: try t.int("layers", default: 12), contextLength: try t.int("context_length", default: 77),
            vocabularySize: try t.int("vocab_size", default: 49408))
        let headWidth = try v.int("head_width", default: 64)
        let visionWidth = try v.int("width", default: 768)
        let imageSize = try v.squareSize("image_size") ?? 224
        let vision: VisionTowerArchitecture
        if let blocks = try? v.ints("layers") {
            guard blocks.count == 4 else { throw v.wrong("layers", "4 stage depths for a ModifiedResNet") }
            vision = .modifiedResNet(ResNetArchitecture(blocksPerStage: blocks, width: visionWidth,
                                                        heads: visionWidth * 32 / headWidth, imageSize: imageSize,
                                                        outputDim: embedDim))
        } else {
            vision = .vit(ViTArchitecture(width: visionWidth, layers: try v.int("layers", default: 12),
                                          heads: visionWidth / headWidth, patchSize: try v.int("patch_size", default: 16),
                                          imageSize: imageSize))
        }
        let stated = CLIPArchitecture(embedDim: embedDim, text: text, vision: vision,
                                      activation: try model.bool("quick_gelu", default: false) ? .quickGELU : .gelu)
        let labels = [
            "embedDim": "model_cfg.embed_dim", "text.width": "model_cfg.text_cfg.width",
            "text.heads": "model_cfg.text_cfg.heads", "text.layers": "model_cfg.text_cfg.layers",
            "text.contextLength": "model_cfg.text_cfg.context_length", "text.vocabularySize": "model_cfg.text_cfg.vocab_size",
            "vision.width": "model_cfg.vision_cfg.width", "vision.layers": "model_cfg.vision_cfg.layers",
            "vision.heads": "model_cfg.vision_cfg.width / head_width", "vision.patchSize": "model_cfg.vision_cfg.patch_size",
            "vision.imageSize": "model_cfg.vision_cfg.image_size", "vision.outputDim": "model_cfg.embed_dim",
        ]

        var preprocess: StatedPreprocess?
        if root.has("preprocess_cfg") {
            let p = try root.child("preprocess_cfg")
            try p.requireDefault("interpolation") { ($0 as? String) == "bicubic" }
            try p.requireDefault("resize_mode") { ($0 as? String) == "shortest" }
            preprocess = StatedPreprocess(path: url.path, imageSize: try p.squareSize("size"),
                                          mean: try p.channels("mean"), std: try p.channels("std"))
        }
        return ModelConfigFile(path: url.path, stated: stated, labels: labels, preprocess: preprocess)
    }

    // MARK: Hugging Face

    /// Reads HF `config.json` (defaults: transformers' `CLIPTextConfig`/`CLIPVisionConfig`) and, if
    /// present, `preprocessor_config.json`.
    static func huggingFace(_ url: URL, preprocessor: URL?) throws -> ModelConfigFile {
        let root = try JSONFields.load(url)
        guard try root.string("model_type") == "clip" else { throw root.wrong("model_type", "\"clip\" (a CLIPModel config)") }
        let t = try root.child("text_config"), v = try root.child("vision_config")
        func activation(_ fields: JSONFields) throws -> Activation {
            let name = try fields.string("hidden_act", default: "quick_gelu")!
            guard let a = Activation(rawValue: name) else { throw fields.wrong("hidden_act", "quick_gelu or gelu") }
            return a
        }
        let textActivation = try activation(t)
        guard try activation(v) == textActivation else {
            throw CheckpointError("\(url.path): text_config.hidden_act and vision_config.hidden_act differ; cocoon uses one activation for both towers")
        }
        for (fields, width, mlp) in [(t, 512, 2048), (v, 768, 3072)] {
            let w = try fields.int("hidden_size", default: width)
            guard try fields.int("intermediate_size", default: mlp) == 4 * w else {
                throw fields.wrong("intermediate_size", "4 × hidden_size = \(4 * w) (CLIP's MLP)")
            }
            guard abs(try fields.double("layer_norm_eps", default: 1e-5) - 1e-5) < 1e-12 else {
                throw fields.wrong("layer_norm_eps", "1e-05 (CLIP's LayerNorm)")
            }
        }
        let text = TextTowerArchitecture(
            width: try t.int("hidden_size", default: 512), heads: try t.int("num_attention_heads", default: 8),
            layers: try t.int("num_hidden_layers", default: 12), contextLength: try t.int("max_position_embeddings", default: 77),
            vocabularySize: try t.int("vocab_size", default: 49408))
        let vision = ViTArchitecture(width: try v.int("hidden_size", default: 768), layers: try v.int("num_hidden_layers", default: 12),
                                     heads: try v.int("num_attention_heads", default: 12), patchSize: try v.int("patch_size", default: 32),
                                     imageSize: try v.int("image_size", default: 224))
        let stated = CLIPArchitecture(embedDim: try root.int("projection_dim", default: 512), text: text,
                                      vision: .vit(vision), activation: textActivation)
        let labels = [
            "embedDim": "projection_dim", "text.width": "text_config.hidden_size",
            "text.heads": "text_config.num_attention_heads", "text.layers": "text_config.num_hidden_layers",
            "text.contextLength": "text_config.max_position_embeddings", "text.vocabularySize": "text_config.vocab_size",
            "vision.width": "vision_config.hidden_size", "vision.layers": "vision_config.num_hidden_layers",
            "vision.heads": "vision_config.num_attention_heads", "vision.patchSize": "vision_config.patch_size",
            "vision.imageSize": "vision_config.image_size",
        ]

        var preprocess: StatedPreprocess?
        if let preprocessor {
            let p = try JSONFields.load(preprocessor)
            try p.requireDefault("resample") { ($0 as? NSNumber)?.intValue == 3 }   // PIL BICUBIC
            let crop = try p.squareSize("crop_size")
            let shortest = try p.child("size").squareSize("shortest_edge")
            if let crop, let shortest, crop != shortest {
                throw CheckpointError("\(preprocessor.path): size.shortest_edge \(shortest) differs from crop_size \(crop); cocoon resizes to the crop size")
            }
            preprocess = StatedPreprocess(path: preprocessor.path, imageSize: crop ?? shortest,
                                          mean: try p.channels("image_mean"), std: try p.channels("image_std"))
        }
        return ModelConfigFile(path: url.path, stated: stated, labels: labels, preprocess: preprocess)
    }

    // MARK: Reconciling with the weights

    /// The inferred architecture with this config's heads and activation, after checking that every
    /// size the config states equals the one the tensor shapes give.
    func reconcile(with inferred: CLIPArchitecture) throws -> CLIPArchitecture {
        func same(_ field: String, _ stated: Int, _ fromWeights: Int) throws {
            guard stated == fromWeights else {
                throw CheckpointError("\(path): \(labels[field] ?? field) is \(stated) but the weights give \(fromWeights); the config does not belong to these weights")
            }
        }
        func heads(_ field: String, _ heads: Int, width: Int) throws -> Int {
            guard heads > 0, width % heads == 0 else {
                throw CheckpointError("\(path): \(labels[field] ?? field) gives \(heads) heads, which do not divide width \(width)")
            }
            return heads
        }
        var result = inferred
        try same("embedDim", stated.embedDim, inferred.embedDim)
        try same("text.width", stated.text.width, inferred.text.width)
        try same("text.layers", stated.text.layers, inferred.text.layers)
        try same("text.contextLength", stated.text.contextLength, inferred.text.contextLength)
        try same("text.vocabularySize", stated.text.vocabularySize, inferred.text.vocabularySize)
        result.text.heads = try heads("text.heads", stated.text.heads, width: inferred.text.width)
        switch (stated.vision, inferred.vision) {
        case (.vit(let s), .vit(var v)):
            try same("vision.width", s.width, v.width)
            try same("vision.layers", s.layers, v.layers)
            try same("vision.patchSize", s.patchSize, v.patchSize)
            try same("vision.imageSize", s.imageSize, v.imageSize)
            v.heads = try heads("vision.heads", s.heads, width: v.width)
            result.vision = .vit(v)
        case (.modifiedResNet(let s), .modifiedResNet(var r)):
            guard s.blocksPerStage == r.blocksPerStage else {
                throw CheckpointError("\(path): \(labels["vision.layers"]!) is \(s.blocksPerStage) but the weights give \(r.blocksPerStage); the config does not belong to these weights")
            }
            try same("vision.width", s.width, r.width)
            try same("vision.imageSize", s.imageSize, r.imageSize)
            try same("vision.outputDim", s.outputDim, r.outputDim)
            r.heads = try heads("vision.heads", s.heads, width: r.embeddingWidth)
            result.vision = .modifiedResNet(r)
        case (.vit, .modifiedResNet), (.modifiedResNet, .vit):
            throw CheckpointError("\(path): the config describes a \(kind(stated.vision)) image tower but the weights hold a \(kind(inferred.vision))")
        }
        result.activation = stated.activation
        return result
    }

    private func kind(_ v: VisionTowerArchitecture) -> String {
        if case .vit = v { return "ViT" }
        return "ModifiedResNet"
    }
}
