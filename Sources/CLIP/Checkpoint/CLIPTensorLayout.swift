/// One tensor a CLIP state dict of a given architecture holds (OpenAI key names; docs/DESIGN.md "Key names").
public struct ExpectedTensor: Equatable, Sendable {
    public let name: String
    public let shape: [Int]
    /// False for BatchNorm's `num_batches_tracked`, which converted checkpoints may leave out.
    public let required: Bool
}

extension CLIPArchitecture {
    /// Every tensor of `clip.model.CLIP` with these sizes, in state-dict order. `CLIPModelDirectory`
    /// checks a checkpoint against it; the encoders read exactly these names.
    public var expectedTensors: [ExpectedTensor] {
        var out: [ExpectedTensor] = []
        func add(_ name: String, _ shape: [Int], required: Bool = true) {
            out.append(ExpectedTensor(name: name, shape: shape, required: required))
        }
        func transformer(_ prefix: String, width w: Int, layers: Int) {
            for i in 0..<layers {
                let b = "\(prefix)transformer.resblocks.\(i)."
                add(b + "attn.in_proj_weight", [3 * w, w]); add(b + "attn.in_proj_bias", [3 * w])
                add(b + "attn.out_proj.weight", [w, w]); add(b + "attn.out_proj.bias", [w])
                add(b + "ln_1.weight", [w]); add(b + "ln_1.bias", [w])
                add(b + "mlp.c_fc.weight", [4 * w, w]); add(b + "mlp.c_fc.bias", [4 * w])
                add(b + "mlp.c_proj.weight", [w, 4 * w]); add(b + "mlp.c_proj.bias", [w])
                add(b + "ln_2.weight", [w]); add(b + "ln_2.bias", [w])
            }
        }
        func batchNorm(_ prefix: String, _ channels: Int) {
            for p in ["weight", "bias", "running_mean", "running_var"] { add("\(prefix).\(p)", [channels]) }
            add("\(prefix).num_batches_tracked", [], required: false)
        }

        let w = text.width
        add("positional_embedding", [text.contextLength, w])
        add("text_projection", [w, embedDim])
        add("logit_scale", [])
        switch vision {
        case .vit(let v):
            let g = v.gridSize
            add("visual.class_embedding", [v.width])
            add("visual.positional_embedding", [g * g + 1, v.width])
            add("visual.proj", [v.width, embedDim])
            add("visual.conv1.weight", [v.width, 3, v.patchSize, v.patchSize])
            add("visual.ln_pre.weight", [v.width]); add("visual.ln_pre.bias", [v.width])
            transformer("visual.", width: v.width, layers: v.layers)
            add("visual.ln_post.weight", [v.width]); add("visual.ln_post.bias", [v.width])
        case .modifiedResNet(let r):
            let half = r.width / 2
            add("visual.conv1.weight", [half, 3, 3, 3]); batchNorm("visual.bn1", half)
            add("visual.conv2.weight", [half, half, 3, 3]); batchNorm("visual.bn2", half)
            add("visual.conv3.weight", [r.width, half, 3, 3]); batchNorm("visual.bn3", r.width)
            var inplanes = r.width
            for (stage, blocks) in r.blocksPerStage.enumerated() {
                let planes = r.width << stage
                for b in 0..<blocks {
                    let p = "visual.layer\(stage + 1).\(b)."
                    add(p + "conv1.weight", [planes, inplanes, 1, 1]); batchNorm(p + "bn1", planes)
                    add(p + "conv2.weight", [planes, planes, 3, 3]); batchNorm(p + "bn2", planes)
                    add(p + "conv3.weight", [4 * planes, planes, 1, 1]); batchNorm(p + "bn3", 4 * planes)
                    let stride = stage > 0 && b == 0 ? 2 : 1
                    if stride > 1 || inplanes != 4 * planes {
                        add(p + "downsample.0.weight", [4 * planes, inplanes, 1, 1]); batchNorm(p + "downsample.1", 4 * planes)
                    }
                    inplanes = 4 * planes
                }
            }
            let e = r.embeddingWidth, side = r.imageSize / 32
            add("visual.attnpool.positional_embedding", [side * side + 1, e])
            for proj in ["k_proj", "q_proj", "v_proj"] {
                add("visual.attnpool.\(proj).weight", [e, e]); add("visual.attnpool.\(proj).bias", [e])
            }
            add("visual.attnpool.c_proj.weight", [r.outputDim, e]); add("visual.attnpool.c_proj.bias", [r.outputDim])
        }
        add("token_embedding.weight", [text.vocabularySize, w])
        transformer("", width: w, layers: text.layers)
        add("ln_final.weight", [w]); add("ln_final.bias", [w])
        return out
    }
}
