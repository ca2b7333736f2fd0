import Foundation

extension CLIPArchitecture {
    /// The architecture `clip.build_model` infers from a state dict (docs/DESIGN.md "Architecture inference"), read off the
    /// OpenAI-named shapes in `weights`. Heads are width/64 (text, ViT) and width·32/64 (ResNet);
    /// a config file may override them (`ModelConfigFile`). Activation is QuickGELU, as for OpenAI models.
    public init(inferringFrom weights: CLIPWeights) throws {
        let path = weights.file.url.path
        func shape(_ name: String, rank: Int) throws -> [Int] {
            guard let s = weights.shape(of: name) else {
                throw CheckpointError("\(path): cannot infer the architecture: missing tensor '\(name)' (OpenAI naming)")
            }
            guard s.count == rank else {
                throw CheckpointError("\(path): cannot infer the architecture: tensor '\(name)' has shape \(s), expected \(rank) dimensions")
            }
            return s
        }
        /// Number of distinct third components of the names starting with `prefix` ("a.b.<i>.…").
        func distinctBlocks(_ prefix: String) -> Int {
            Set(weights.names.filter { $0.hasPrefix(prefix) }.compactMap { name -> Substring? in
                let parts = name.split(separator: ".", omittingEmptySubsequences: false)
                return parts.count > 2 ? parts[2] : nil
            }).count
        }
        func sideOfSquare(_ tokens: Int, _ name: String) throws -> Int {
            let side = Int((Double(tokens - 1)).squareRoot().rounded())
            guard side > 0, side * side + 1 == tokens else {
                throw CheckpointError("\(path): tensor '\(name)' has \(tokens) positions; expected a square grid plus one")
            }
            return side
        }

        let vision: VisionTowerArchitecture
        if weights.shape(of: "visual.proj") != nil {
            let conv1 = try shape("visual.conv1.weight", rank: 4)                       // [Wv, 3, P, P]
            let positions = try shape("visual.positional_embedding", rank: 2)[0]        // g² + 1
            let layers = weights.names.filter { $0.hasPrefix("visual.") && $0.hasSuffix(".attn.in_proj_weight") }.count
            let grid = try sideOfSquare(positions, "visual.positional_embedding")
            vision = .vit(ViTArchitecture(width: conv1[0], layers: layers, heads: conv1[0] / 64,
                                          patchSize: conv1[3], imageSize: conv1[3] * grid))
        } else if weights.shape(of: "visual.attnpool.positional_embedding") != nil {
            let blocks = (1...4).map { distinctBlocks("visual.layer\($0).") }
            let width = try shape("visual.layer1.0.conv1.weight", rank: 4)[0]
            let positions = try shape("visual.attnpool.positional_embedding", rank: 2)[0]
            let side = try sideOfSquare(positions, "visual.attnpool.positional_embedding")
            let outputDim = try shape("text_projection", rank: 2)[1]
            vision = .modifiedResNet(ResNetArchitecture(blocksPerStage: blocks, width: width, heads: width * 32 / 64,
                                                        imageSize: 32 * side, outputDim: outputDim))
        } else {
            throw CheckpointError("\(path): no CLIP image tower: neither 'visual.proj' (ViT) nor 'visual.attnpool.positional_embedding' (ModifiedResNet) is stored")
        }

        let textWidth = try shape("ln_final.weight", rank: 1)[0]
        let text = TextTowerArchitecture(
            width: textWidth,
            heads: textWidth / 64,
            layers: distinctBlocks("transformer.resblocks."),
            contextLength: try shape("positional_embedding", rank: 2)[0],
            vocabularySize: try shape("token_embedding.weight", rank: 2)[0])
        self.init(embedDim: try shape("text_projection", rank: 2)[1], text: text, vision: vision, activation: .quickGELU)
    }
}
