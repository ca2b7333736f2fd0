import Formats
import Foundation
import Kernels

/// Everything a learned prompt records about how it was made (the JSON metadata of a prompt
/// checkpoint): enough to rebuild the learner, evaluate it elsewhere, or resume its run.
public struct PromptRecipe: Codable, Equatable {
    public var method: String                 // a `PromptMethod`: "coop" | "cocoop" | "kgcoop" | "prograd"
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

/// A learned prompt on disk: safetensors holding the parameters (`ctx`, `meta_net.*` — the
/// official names), the optimiser's momentum (`optimizer.<name>`), and JSON metadata (recipe,
/// per-epoch log, epochs done, random state). Written atomically after every epoch, so an
/// interrupted `cocoon tune` resumes from the last finished epoch.
public struct PromptCheckpoint {
    public var recipe: PromptRecipe
    public var parameters: [(name: String, tensor: Tensor)]
    public var momentum: [[Float]?]
    public var epochsDone: Int
    public var randomState: UInt64
    public var log: [EpochLog]

    static let metadataKey = "cocoon.prompt"

    private struct Metadata: Codable {
        var recipe: PromptRecipe
        var epochsDone: Int
        var randomState: String           // UInt64 as decimal text: JSON numbers lose bits
        var log: [EpochLog]
        var version: Int
    }

    public init(recipe: PromptRecipe, parameters: [(name: String, tensor: Tensor)], momentum: [[Float]?],
                epochsDone: Int, randomState: UInt64, log: [EpochLog]) {
        self.recipe = recipe; self.parameters = parameters; self.momentum = momentum
        self.epochsDone = epochsDone; self.randomState = randomState; self.log = log
    }

    /// The state of a trainer, ready to write.
    public init(recipe: PromptRecipe, trainer: Trainer) {
        self.init(recipe: recipe, parameters: trainer.learner.parameters,
                  momentum: trainer.optimizers.map { ($0 as? SGD).flatMap { $0.hasMomentum ? $0.momentumBuffer : nil } },
                  epochsDone: trainer.epochsDone, randomState: trainer.random.state, log: trainer.log)
    }

    public func write(to url: URL) throws {
        var writer = SafeTensorsWriter()
        for ((name, tensor), buffer) in zip(parameters, momentum) {
            try writer.add(name, tensor)
            if let buffer { try writer.add("optimizer.\(name)", shape: tensor.shape, values: buffer) }
        }
        let meta = Metadata(recipe: recipe, epochsDone: epochsDone, randomState: String(randomState), log: log, version: 1)
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
        var parameters: [(name: String, tensor: Tensor)] = []
        var momentum: [[Float]?] = []
        for name in PromptCheckpoint.parameterOrder(names) {
            parameters.append((name, try file.tensor(name)))
            momentum.append(file.info("optimizer.\(name)") == nil ? nil : try file.tensor("optimizer.\(name)").toArray())
        }
        return PromptCheckpoint(recipe: meta.recipe, parameters: parameters, momentum: momentum,
                                epochsDone: meta.epochsDone, randomState: state, log: meta.log)
    }

    /// `ctx` first, then the Meta-Net in layer order (the learners' `parameters` order).
    static func parameterOrder(_ names: [String]) -> [String] {
        let order = ["ctx", "meta_net.linear1.weight", "meta_net.linear1.bias", "meta_net.linear2.weight", "meta_net.linear2.bias"]
        return order.filter(names.contains) + names.filter { !order.contains($0) }.sorted()
    }

    public func tensor(_ name: String) -> Tensor? { parameters.first { $0.name == name }?.tensor }
}
