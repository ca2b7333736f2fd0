import Formats
import Kernels

/// Hugging Face `CLIPModel` key names → OpenAI names (docs/DESIGN.md "Key names"). Used by `CLIPModelDirectory`
/// to build the `CLIPWeights` table of a HF checkpoint:
///
///     text_model.embeddings.token_embedding.weight     → token_embedding.weight
///     text_model.embeddings.position_embedding.weight  → positional_embedding
///     text_model.encoder.layers.{i}.…                  → transformer.resblocks.{i}.…
///     vision_model.encoder.layers.{i}.…                → visual.transformer.resblocks.{i}.…
///         self_attn.{q,k,v}_proj.{weight,bias}  → attn.in_proj_{weight,bias} (rows q, k, v)
///         self_attn.out_proj → attn.out_proj; layer_norm1/2 → ln_1/2; mlp.fc1/fc2 → mlp.c_fc/c_proj
///     text_model.final_layer_norm                      → ln_final
///     text_projection.weight [D, W]                    → text_projection [W, D] (transposed)
///     vision_model.embeddings.patch_embedding.weight   → visual.conv1.weight
///     vision_model.embeddings.class_embedding          → visual.class_embedding
///     vision_model.embeddings.position_embedding.weight → visual.positional_embedding
///     vision_model.pre_layrnorm (sic) / post_layernorm → visual.ln_pre / visual.ln_post
///     visual_projection.weight [D, Wv]                 → visual.proj [Wv, D] (transposed)
///     logit_scale                                      → logit_scale
///     *.embeddings.position_ids                        → ignored
/// Keys outside this table keep their stored name (and show up as unused).
enum HuggingFaceNames {
    private static let renames: [String: String] = [
        "text_model.embeddings.token_embedding.weight": "token_embedding.weight",
        "text_model.embeddings.position_embedding.weight": "positional_embedding",
        "text_model.final_layer_norm.weight": "ln_final.weight",
        "text_model.final_layer_norm.bias": "ln_final.bias",
        "vision_model.embeddings.patch_embedding.weight": "visual.conv1.weight",
        "vision_model.embeddings.class_embedding": "visual.class_embedding",
        "vision_model.embeddings.position_embedding.weight": "visual.positional_embedding",
        "vision_model.pre_layrnorm.weight": "visual.ln_pre.weight",
        "vision_model.pre_layrnorm.bias": "visual.ln_pre.bias",
        "vision_model.post_layernorm.weight": "visual.ln_post.weight",
        "vision_model.post_layernorm.bias": "visual.ln_post.bias",
        "logit_scale": "logit_scale",
    ]
    private static let transposes: [String: String] = [
        "text_projection.weight": "text_projection",
        "visual_projection.weight": "visual.proj",
    ]
    private static let ignored: Set<String> = [
        "text_model.embeddings.position_ids", "vision_model.embeddings.position_ids",
    ]
    /// Per-layer renames inside `…encoder.layers.{i}.`.
    private static let layerRenames: [String: String] = [
        "self_attn.out_proj.weight": "attn.out_proj.weight", "self_attn.out_proj.bias": "attn.out_proj.bias",
        "layer_norm1.weight": "ln_1.weight", "layer_norm1.bias": "ln_1.bias",
        "layer_norm2.weight": "ln_2.weight", "layer_norm2.bias": "ln_2.bias",
        "mlp.fc1.weight": "mlp.c_fc.weight", "mlp.fc1.bias": "mlp.c_fc.bias",
        "mlp.fc2.weight": "mlp.c_proj.weight", "mlp.fc2.bias": "mlp.c_proj.bias",
    ]
    /// `self_attn.{q,k,v}_proj.{weight,bias}` → (projection letter, in_proj part).
    private static let qkvParts: [String: (Character, String)] = Dictionary(uniqueKeysWithValues:
        "qkv".flatMap { letter in ["weight", "bias"].map { ("self_attn.\(letter)_proj.\($0)", (letter, $0)) } })
    private static let towers = [("text_model.encoder.layers.", "transformer.resblocks."),
                                 ("vision_model.encoder.layers.", "visual.transformer.resblocks.")]

    /// The OpenAI-name table of a HF `CLIPModel` file.
    static func entries(_ file: SafeTensorsFile) throws -> [String: CLIPWeights.Entry] {
        var entries: [String: CLIPWeights.Entry] = [:]
        // OpenAI in_proj name → stored q/k/v keys found so far, by projection letter.
        var qkv: [String: [Character: String]] = [:]

        func add(_ name: String, _ source: CLIPWeights.Source, _ shape: [Int], _ dtype: SafeTensorsDType, from key: String) throws {
            guard entries[name] == nil else {
                throw CheckpointError("\(file.url.path): '\(key)' maps to '\(name)', which another key already provides")
            }
            entries[name] = CLIPWeights.Entry(source: source, shape: shape, storedDType: dtype)
        }

        for key in file.names where !ignored.contains(key) {
            let info = file.info(key)!
            if let name = renames[key] {
                try add(name, .stored(key), info.shape, info.dtype, from: key)
            } else if let name = transposes[key] {
                guard info.shape.count == 2 else {
                    throw CheckpointError("\(file.url.path): tensor '\(key)' has shape \(info.shape), expected a 2-D projection")
                }
                try add(name, .transposed(key), [info.shape[1], info.shape[0]], info.dtype, from: key)
            } else if let (prefix, rest) = towers.lazy.compactMap({ t in key.hasPrefix(t.0) ? (t.1, String(key.dropFirst(t.0.count))) : nil }).first,
                      let dot = rest.firstIndex(of: ".") {
                let layer = rest[..<dot], inner = String(rest[rest.index(after: dot)...])
                let base = "\(prefix)\(layer)."
                if let mapped = layerRenames[inner] {
                    try add(base + mapped, .stored(key), info.shape, info.dtype, from: key)
                } else if let (letter, part) = qkvParts[inner] {
                    qkv[base + "attn.in_proj_\(part)", default: [:]][letter] = key
                } else {
                    try add(key, .stored(key), info.shape, info.dtype, from: key)
                }
            } else {
                try add(key, .stored(key), info.shape, info.dtype, from: key)
            }
        }

        for (name, parts) in qkv {
            let keys = try "qkv".map { letter -> String in
                guard let key = parts[letter] else {
                    let have = parts.values.sorted().joined(separator: ", ")
                    throw CheckpointError("\(file.url.path): '\(name)' needs q, k and v projections but only \(have) are stored")
                }
                return key
            }
            let infos = keys.map { file.info($0)! }
            guard infos.allSatisfy({ $0.shape.dropFirst() == infos[0].shape.dropFirst() && $0.dtype == infos[0].dtype }),
                  !infos[0].shape.isEmpty else {
                throw CheckpointError("\(file.url.path): q/k/v tensors \(keys) have shapes \(infos.map(\.shape)) or dtypes that cannot be stacked into '\(name)'")
            }
            let shape = [infos.map { $0.shape[0] }.reduce(0, +)] + infos[0].shape.dropFirst()
            try add(name, .concatenated(keys), shape, infos[0].dtype, from: keys[0])
        }
        return entries
    }
}
