import Formats
import Foundation
import Hashing
import Kernels
import XCTest
@testable import CLIP

/// Model-directory loading against tiny checkpoints made by open_clip / transformers
/// (tools/fixtures/loader.py → Tests/Fixtures/loader): architecture, parameter count, dtypes and
/// per-tensor checksums equal the reference's; HF names map to the reference's OpenAI tensors.
final class ModelDirectoryTests: XCTestCase {
    private static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/loader")
    private static let expected: [String: Any] = {
        let data = try! Data(contentsOf: fixtures.appendingPathComponent("expected.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()
    private static let modelNames = ["vit_openai", "rn_open_clip", "hf_clip"]

    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("model-dir-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    // MARK: Against the reference

    func testArchitectureAndCountsEqualReference() throws {
        for name in Self.modelNames {
            let reference = Self.expected[name] as! [String: Any]
            let model = try CLIPModelDirectory(url: Self.fixtures.appendingPathComponent(name))
            XCTAssertEqual(model.architecture, Self.architecture(reference["architecture"] as! [String: Any]), name)
            XCTAssertEqual(model.parameterCount, reference["parameter_count"] as? Int, name)
            XCTAssertEqual(model.naming.rawValue, reference["naming"] as? String, name)
            XCTAssertEqual(model.weightsURL.lastPathComponent, reference["weights_file"] as? String, name)
            XCTAssertEqual(model.weights.file.names.count, reference["stored_tensor_count"] as? Int, name)
            let dtypes = Dictionary(uniqueKeysWithValues: model.storedDTypeCounts.map { ($0.key.rawValue, $0.value) })
            XCTAssertEqual(dtypes, reference["stored_dtypes"] as? [String: Int], name)
            XCTAssertEqual(model.logitScale, (reference["logit_scale"] as! NSNumber).floatValue, name)
            XCTAssertEqual(model.unusedTensorNames, [], name)

            let pre = reference["preprocess"] as! [String: Any]
            XCTAssertEqual(model.preprocess.imageSize, pre["image_size"] as? Int, name)
            XCTAssertEqual(model.preprocess.mean, (pre["mean"] as! [NSNumber]).map(\.floatValue), name)
            XCTAssertEqual(model.preprocess.std, (pre["std"] as! [NSNumber]).map(\.floatValue), name)

            let tokenizer = (reference["tokenizer"] as! [String: String])
            let files = model.tokenizerFiles?.urls.map(\.lastPathComponent) ?? []
            XCTAssertEqual(files, ["bpe", "vocab", "merges"].compactMap { tokenizer[$0] }, name)
        }
    }

    func testEveryTensorMatchesReferenceChecksums() throws {
        for name in Self.modelNames {
            let model = try CLIPModelDirectory(url: Self.fixtures.appendingPathComponent(name))
            let checksums = (Self.expected[name] as! [String: Any])["checksums"] as! [String: [String: Any]]
            XCTAssertEqual(Set(checksums.keys), Set(model.weights.names.filter { model.weights.entry($0)!.storedDType != .i64 }), name)
            for (key, reference) in checksums {
                let shape = (reference["shape"] as! [NSNumber]).map(\.intValue)
                let t = try model.weights.tensor(key, shape: shape)
                var sum = 0.0, weighted = 0.0
                for i in 0..<t.count {
                    sum += Double(t[i])
                    weighted += Double(t[i]) * Double(i % 13 + 1)
                }
                let scale = 13 * (reference["abs_sum"] as! NSNumber).doubleValue + 1e-30
                XCTAssertEqual(sum, (reference["sum"] as! NSNumber).doubleValue, accuracy: 1e-12 * scale, "\(name) \(key)")
                XCTAssertEqual(weighted, (reference["weighted"] as! NSNumber).doubleValue, accuracy: 1e-12 * scale, "\(name) \(key)")
            }
        }
    }

    func testHuggingFaceMappingGivesReferenceOpenAITensors() throws {
        let model = try CLIPModelDirectory(url: Self.fixtures.appendingPathComponent("hf_clip"))
        let reference = try SafeTensorsFile(url: Self.fixtures.appendingPathComponent("hf_expected_openai.safetensors"))
        XCTAssertEqual(reference.names.count, 6)
        for key in reference.names {
            let expected = try reference.tensor(key)
            let mapped = try model.weights.tensor(key, shape: expected.shape)
            XCTAssertEqual(mapped.toArray(), expected.toArray(), key)   // exact: BF16 values on both sides
        }
        XCTAssertEqual(model.weights.entry("text_projection")?.source, .transposed("text_projection.weight"))
        XCTAssertEqual(model.weights.entry("visual.transformer.resblocks.0.attn.in_proj_bias")?.source,
                       .concatenated(["q", "k", "v"].map { "vision_model.encoder.layers.0.self_attn.\($0)_proj.bias" }))
        XCTAssertNil(model.weights.shape(of: "text_model.embeddings.position_ids"))
        XCTAssertEqual(model.weights.entry("transformer.resblocks.0.attn.in_proj_weight")?.storedDType, .bf16)
    }

    // MARK: Layout of the published models (tensor and parameter counts of the OpenAI checkpoints)

    func testExpectedTensorsOfPublishedArchitecturesMatchSpecCounts() {
        func text() -> TextTowerArchitecture { TextTowerArchitecture(width: 512, heads: 8, layers: 12, contextLength: 77, vocabularySize: 49408) }
        let cases: [(String, CLIPArchitecture, Int, Int?)] = [
            ("ViT-B/32", CLIPArchitecture(embedDim: 512, text: text(), vision: .vit(ViTArchitecture(width: 768, layers: 12, heads: 12, patchSize: 32, imageSize: 224)), activation: .quickGELU), 151_277_313, 302),
            ("ViT-B/16", CLIPArchitecture(embedDim: 512, text: text(), vision: .vit(ViTArchitecture(width: 768, layers: 12, heads: 12, patchSize: 16, imageSize: 224)), activation: .quickGELU), 149_620_737, nil),
            ("ViT-L/14", CLIPArchitecture(embedDim: 768, text: TextTowerArchitecture(width: 768, heads: 12, layers: 12, contextLength: 77, vocabularySize: 49408), vision: .vit(ViTArchitecture(width: 1024, layers: 24, heads: 16, patchSize: 14, imageSize: 224)), activation: .quickGELU), 427_616_513, nil),
            ("RN50", CLIPArchitecture(embedDim: 1024, text: text(), vision: .modifiedResNet(ResNetArchitecture(blocksPerStage: [3, 4, 6, 3], width: 64, heads: 32, imageSize: 224, outputDim: 1024)), activation: .quickGELU), 102_007_137, 489),
            ("RN101", CLIPArchitecture(embedDim: 512, text: text(), vision: .modifiedResNet(ResNetArchitecture(blocksPerStage: [3, 4, 23, 3], width: 64, heads: 32, imageSize: 224, outputDim: 512)), activation: .quickGELU), 119_688_033, nil),
        ]
        for (name, arch, parameters, tensors) in cases {
            let layout = arch.expectedTensors
            let bufferNames: Set<String> = ["running_mean", "running_var", "num_batches_tracked"]
            var learnable = 0
            for t in layout where !bufferNames.contains(String(t.name.split(separator: ".").last!)) {
                learnable += t.shape.reduce(1, *)
            }
            XCTAssertEqual(Set(layout.map(\.name)).count, layout.count, name)
            XCTAssertEqual(learnable, parameters, name)
            if let tensors { XCTAssertEqual(layout.count, tensors, name) }
        }
    }

    // MARK: Naming variants, configs and errors

    func testCustomTextCLIPPrefixIsStripped() throws {
        let source = try CLIPModelDirectory(url: Self.fixtures.appendingPathComponent("vit_openai"))
        var writer = SafeTensorsWriter()
        for name in source.weights.names {
            let stored = name.hasPrefix("visual.") || name == "logit_scale" ? name : "text." + name
            try writer.add(stored, try source.weights.tensor(name), storedAs: source.weights.entry(name)!.storedDType)
        }
        let dir = scratch.appendingPathComponent("custom_text")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try writer.write(to: dir.appendingPathComponent("open_clip_model.safetensors"))

        let model = try CLIPModelDirectory(url: dir)
        XCTAssertEqual(model.naming, .openCLIP)
        XCTAssertEqual(model.architecture, source.architecture)
        XCTAssertEqual(model.parameterCount, source.parameterCount)
        XCTAssertEqual(model.weights.entry("transformer.resblocks.0.attn.in_proj_weight")?.source,
                       .stored("text.transformer.resblocks.0.attn.in_proj_weight"))
        XCTAssertEqual(try model.weights.tensor("token_embedding.weight").toArray(),
                       try source.weights.tensor("token_embedding.weight").toArray())
        XCTAssertNil(model.tokenizerFiles)
    }

    func testConfigHeadsWinAndSizesMustAgree() throws {
        // The RN config states head_width 32: heads = 4·32/32 = 4, where shapes alone give 4·32/64 = 2.
        let rn = try CLIPModelDirectory(url: Self.fixtures.appendingPathComponent("rn_open_clip"))
        let inferred = try CLIPArchitecture(inferringFrom: rn.weights)
        guard case .modifiedResNet(let fromShapes) = inferred.vision, case .modifiedResNet(let fromConfig) = rn.architecture.vision else {
            return XCTFail("not a ModifiedResNet")
        }
        XCTAssertEqual(fromShapes.heads, 2)
        XCTAssertEqual(fromConfig.heads, 4)
        XCTAssertEqual(inferred.activation, .quickGELU)
        XCTAssertEqual(rn.architecture.activation, .gelu)

        try expectConfigError("rn_open_clip", "open_clip_config.json", edit: { json in
            var m = json["model_cfg"] as! [String: Any], t = m["text_cfg"] as! [String: Any]
            t["width"] = 128; m["text_cfg"] = t; json["model_cfg"] = m
        }, contains: ["open_clip_config.json", "model_cfg.text_cfg.width is 128", "weights give 64"])
        try expectConfigError("rn_open_clip", "open_clip_config.json", edit: { json in
            var m = json["model_cfg"] as! [String: Any], v = m["vision_cfg"] as! [String: Any]
            v["layers"] = 2; m["vision_cfg"] = v; json["model_cfg"] = m
        }, contains: ["open_clip_config.json", "ViT", "ModifiedResNet"])
        try expectConfigError("rn_open_clip", "open_clip_config.json", edit: { json in
            var m = json["model_cfg"] as! [String: Any], t = m["text_cfg"] as! [String: Any]
            t["heads"] = 3; m["text_cfg"] = t; json["model_cfg"] = m
        }, contains: ["model_cfg.text_cfg.heads", "3 heads", "width 64"])
        try expectConfigError("rn_open_clip", "open_clip_config.json", edit: { json in
            var m = json["model_cfg"] as! [String: Any], t = m["text_cfg"] as! [String: Any]
            t["pool_type"] = "last"; m["text_cfg"] = t; json["model_cfg"] = m
        }, contains: ["model_cfg.text_cfg.pool_type", "last", "not supported"])
        try expectConfigError("hf_clip", "config.json", edit: { json in
            var v = json["vision_config"] as! [String: Any]
            v["num_hidden_layers"] = 3; json["vision_config"] = v
        }, contains: ["config.json", "vision_config.num_hidden_layers is 3", "weights give 1"])
        try expectConfigError("hf_clip", "config.json", edit: { json in
            var t = json["text_config"] as! [String: Any]
            t["intermediate_size"] = 100; json["text_config"] = t
        }, contains: ["text_config.intermediate_size is 100", "4 × hidden_size = 256"])
        try expectConfigError("hf_clip", "preprocessor_config.json", edit: { json in
            json["crop_size"] = ["height": 24, "width": 24]; json["size"] = ["shortest_edge": 24]
        }, contains: ["preprocessor_config.json", "image size 24", "input resolution 16"])
    }

    func testMissingAndMisshapenTensorsAreNamed() throws {
        let model = try CLIPModelDirectory(url: Self.fixtures.appendingPathComponent("hf_clip"))
        let path = model.weightsURL.path
        XCTAssertThrowsError(try model.weights.tensor("visual.proj", shape: [32, 64])) {
            assertMessage($0, contains: [path, "'visual.proj'", "transposed", "'visual_projection.weight'", "shape [64, 32]", "expected [32, 64]"])
        }
        XCTAssertThrowsError(try model.weights.tensor("visual.attnpool.c_proj.weight", shape: [1])) {
            assertMessage($0, contains: [path, "missing tensor 'visual.attnpool.c_proj.weight'"])
        }

        // A checkpoint lacking one ModifiedResNet block tensor fails on load, naming it.
        let rn = try CLIPModelDirectory(url: Self.fixtures.appendingPathComponent("rn_open_clip"))
        var writer = SafeTensorsWriter()
        for name in rn.weights.names where name != "visual.layer2.1.conv2.weight" {
            if rn.weights.entry(name)!.storedDType == .i64 {
                try writer.add(name, shape: [], int64s: try rn.weights.file.int64s(name))
            } else {
                try writer.add(name, try rn.weights.tensor(name))
            }
        }
        let dir = scratch.appendingPathComponent("broken")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try writer.write(to: dir.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try CLIPModelDirectory(url: dir)) {
            assertMessage($0, contains: ["model.safetensors", "missing tensor 'visual.layer2.1.conv2.weight'", "ModifiedResNet [1, 2, 1, 1]"])
        }
        XCTAssertThrowsError(try CLIPModelDirectory(url: scratch)) {
            assertMessage($0, contains: [scratch.path, "no model.safetensors", "convert_checkpoint.py"])
        }
    }

    func testFingerprintIsSHA256OfWeightsAndPreprocessing() throws {
        let hf = try CLIPModelDirectory(url: Self.fixtures.appendingPathComponent("hf_clip"))
        XCTAssertEqual(hf.preprocess.canonicalJSON, #"{"image_size":16,"mean":[0.4,0.5,0.6],"std":[0.1,0.2,0.3]}"#)
        var hash = SHA256()
        hash.update(try Data(contentsOf: hf.weightsURL))
        hash.update(hf.preprocess.canonicalJSON)
        let hex = hexString(hash.finalize())
        XCTAssertEqual(hf.fingerprint.hex, hex)
        XCTAssertEqual(hf.fingerprint.shortID, String(hex.prefix(16)))

        // Same weights, other normalisation: another fingerprint.
        let dir = try copyFixture("hf_clip")
        try edit(dir.appendingPathComponent("preprocessor_config.json")) { json in json["image_std"] = [0.1, 0.2, 0.5] }
        let other = try CLIPModelDirectory(url: dir)
        XCTAssertEqual(other.preprocess.std, [0.1, 0.2, 0.5])
        XCTAssertNotEqual(other.fingerprint, hf.fingerprint)
    }

    // MARK: Helpers

    private static func architecture(_ json: [String: Any]) -> CLIPArchitecture {
        let t = json["text"] as! [String: Any], v = json["vision"] as! [String: Any]
        let text = TextTowerArchitecture(width: t["width"] as! Int, heads: t["heads"] as! Int, layers: t["layers"] as! Int,
                                         contextLength: t["context_length"] as! Int, vocabularySize: t["vocab_size"] as! Int)
        let vision: VisionTowerArchitecture
        if v["kind"] as! String == "vit" {
            vision = .vit(ViTArchitecture(width: v["width"] as! Int, layers: v["layers"] as! Int, heads: v["heads"] as! Int,
                                          patchSize: v["patch_size"] as! Int, imageSize: v["image_size"] as! Int))
        } else {
            vision = .modifiedResNet(ResNetArchitecture(blocksPerStage: v["blocks_per_stage"] as! [Int], width: v["width"] as! Int,
                                                        heads: v["heads"] as! Int, imageSize: v["image_size"] as! Int,
                                                        outputDim: v["output_dim"] as! Int))
        }
        return CLIPArchitecture(embedDim: json["embed_dim"] as! Int, text: text, vision: vision,
                                activation: Activation(rawValue: json["activation"] as! String)!)
    }

    private func copyFixture(_ name: String) throws -> URL {
        let dir = scratch.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent(name), to: dir)
        return dir
    }

    private func edit(_ url: URL, _ change: (inout [String: Any]) -> Void) throws {
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        change(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: url)
    }

    private func expectConfigError(_ fixture: String, _ file: String, edit change: (inout [String: Any]) -> Void,
                                   contains parts: [String], line: UInt = #line) throws {
        let dir = try copyFixture(fixture)
        try edit(dir.appendingPathComponent(file), change)
        XCTAssertThrowsError(try CLIPModelDirectory(url: dir), line: line) { assertMessage($0, contains: parts, line: line) }
    }
}

/// The error is a `CheckpointError` whose single-line message contains every part.
private func assertMessage(_ error: Error, contains parts: [String], line: UInt = #line) {
    guard let e = error as? CheckpointError else { return XCTFail("unexpected error \(error)", line: line) }
    XCTAssertFalse(e.message.contains("\n"), "multi-line message: \(e.message)", line: line)
    for part in parts { XCTAssertTrue(e.message.contains(part), "'\(e.message)' lacks '\(part)'", line: line) }
}
