import CLIP
import Formats
import Foundation
import Kernels

/// Everything a learned prompt records about how it was made (the JSON metadata of a prompt
/// checkpoint): enough to rebuild the learner, evaluate it elsewhere, or resume its run.
public struct PromptRecipe: Codable, Equatable {
    public var method: String                 // a `PromptMethod` raw value: "coop", "tip-adapter-f", …
    public var classnames: [String]
    public var modelFingerprint: String
    public var modelDirectory: String
    public var store: String
    public var dataset: String
    public var shots: Int?
    public var classes: String                // all | base | new
    public var extractor: String
    public var hyperparameters: Hyperparameters
    /// The text tower's arithmetic while training: `.bf16` for `tune --precision bf16`, nil for FP32
    /// (so checkpoints from before the option still resume).
    public var precision: Precision? = nil
}

/// A learned prompt or adapter on disk: safetensors holding the run's tensors (`ctx`,
/// `meta_net.*`, an adapter's weights — the official names — and fixed state such as
/// Tip-Adapter's cache), the optimiser's state (`optimizer.<name>…`), and JSON metadata (recipe,
/// per-epoch log, epochs done, random state, exact scalars). Written atomically (after every epoch
/// for `Trainer` runs), so an interrupted `cocoon tune` resumes from the last finished epoch.
public struct PromptCheckpoint {
    public var recipe: PromptRecipe
    /// The run's tensors (parameters first, `parameterOrder`), optimiser tensors, scalars,
    /// selection, epoch count, random state and log.
    public var state: MethodState

    static let metadataKey = "cocoon.prompt"

    private struct Metadata: Codable {
        var recipe: PromptRecipe
        var epochsDone: Int
        var randomState: String           // UInt64 as decimal text: JSON numbers lose bits
        var log: [EpochLog]
        var scalars: [String: Double]?    // absent when empty (checkpoints of the prompt methods)
        var selected: SelectionReport?
        var version: Int
    }

    /// A run's state under its recipe, ready to write.
    public init(recipe: PromptRecipe, state: MethodState) {
        self.recipe = recipe; self.state = state
    }

    public func write(to url: URL) throws {
        var writer = SafeTensorsWriter()
        for (name, tensor) in state.tensors + state.optimizer { try writer.add(name, tensor) }
        let meta = Metadata(recipe: recipe, epochsDone: state.epochsDone, randomState: String(state.randomState), log: state.log,
                            scalars: state.scalars.isEmpty ? nil : state.scalars, selected: state.selected, version: 1)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        writer.metadata[PromptCheckpoint.metadataKey] = String(decoding: try encoder.encode(meta), as: UTF8.self)
        try writer.write(to: url)
    }

    public static func read(from url: URL) throws -> PromptCheckpoint {
        let file = try SafeTensorsFile(url: url)
        guard let json = file.metadata[metadataKey],
              let meta = try? JSONDecoder().decode(Metadata.self, from: Data(json.utf8)),
              let state = UInt64(meta.randomState) else {
            throw PromptError.invalid("\(url.path): not a cocoon prompt checkpoint (no \(metadataKey) metadata); pass a file written by `cocoon tune`")
        }
        let names = file.names.filter { !$0.hasPrefix("optimizer.") }
        let tensors = try PromptCheckpoint.parameterOrder(names).map { (name: $0, tensor: try file.tensor($0)) }
        let optimizer = try file.names.filter { $0.hasPrefix("optimizer.") }.sorted().map { (name: $0, tensor: try file.tensor($0)) }
        return PromptCheckpoint(recipe: meta.recipe, state: MethodState(tensors: tensors, optimizer: optimizer, scalars: meta.scalars ?? [:],
                                                                        selected: meta.selected, epochsDone: meta.epochsDone, randomState: state, log: meta.log))
    }

    /// `ctx` first, then the Meta-Net in layer order (the learners' `parameters` order), then the rest by name.
    static func parameterOrder(_ names: [String]) -> [String] {
        let order = ["ctx", "meta_net.linear1.weight", "meta_net.linear1.bias", "meta_net.linear2.weight", "meta_net.linear2.bias"]
        return order.filter(names.contains) + names.filter { !order.contains($0) }.sorted()
    }

    public func tensor(_ name: String) -> Tensor? {
        state.tensors.first { $0.name == name }?.tensor ?? state.optimizer.first { $0.name == name }?.tensor
    }

    /// The tensor `name` (with `count` elements when given), or a one-line error.
    public func required(_ name: String, count: Int? = nil) throws -> Tensor {
        guard let t = tensor(name), count == nil || t.count == count else {
            throw PromptError.invalid("checkpoint tensor \(name) is missing or has the wrong size; the file is damaged or not from this method: retrain with `cocoon tune \(recipe.method)`")
        }
        return t
    }

    /// The checkpoint's method, refusing an unknown one and a checkpoint of another model.
    public func method(for model: CLIPModel) throws -> PromptMethod {
        guard recipe.modelFingerprint == model.directory.fingerprint.hex else {
            throw PromptError.invalid("prompt was learned with model \(recipe.modelFingerprint.prefix(16)) but \(model.directory.url.path) is \(model.directory.fingerprint.shortID); use the same model")
        }
        guard let method = PromptMethod(rawValue: recipe.method) else {
            throw PromptError.invalid("unknown method \"\(recipe.method)\" in the checkpoint; it was written by a newer cocoon")
        }
        return method
    }

    /// The trained classifier for `classnames` (the checkpoint's own classes by default; others
    /// where the method transfers, class tokens or text rebuilt for them), `dataset` naming the
    /// target's templates (default: the checkpoint's). `eval`, `predict`, `classifier`,
    /// `cocoon-serve` and `reproduce` all read a checkpoint through here.
    public func classifier(model: CLIPModel, classnames: [String]? = nil, dataset: String? = nil) throws -> Classifier {
        let method = try self.method(for: model)
        let names = classnames ?? recipe.classnames
        if names != recipe.classnames && !method.definition.transfersToOtherClasses {
            throw PromptError.invalid("a \(method.displayName) checkpoint classifies only the \(recipe.classnames.count) classes it was trained on (\(recipe.dataset), \(recipe.classes) classes); evaluate it there, or train on the target's classes")
        }
        let context = MethodContext(model: model, classnames: names, dataset: dataset ?? recipe.dataset, hyperparameters: recipe.hyperparameters)
        return try method.definition.classifier(self, context: context)
    }
}
