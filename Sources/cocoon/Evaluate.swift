import ArgumentParser
import DatasetNames
import FeatureCache
import Foundation
import PromptLearning

/// `cocoon eval PROMPT`: a learned prompt on any cached dataset — the one it was trained on, its new
/// classes (base-to-new), or another dataset (cross-dataset transfer, domain generalisation).
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Evaluate a learned prompt on a cached dataset (class tokens rebuilt for the target).")
    @Argument(help: "Prompt checkpoint written by `cocoon tune`.") var prompt: String
    @OptionGroup var task: TaskOptions
    @Option(help: "Split to evaluate: test or val.") var split: String = "test"
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let checkpoint = try PromptCheckpoint.read(from: URL(fileURLWithPath: prompt))
        let (model, data) = try task.open()
        guard let which = ["test": Split.test, "val": .val][split] else { throw ValidationError("--split must be test or val") }
        let result = try Scoring.prompt(checkpoint, model: model, data: data, split: which, classes: try task.classSubset)
        if json {
            try printJSON(["prompt": prompt, "dataset": data.record.name, "classes": task.classes, "split": split,
                           "result": try jsonObject(result)])
        } else {
            print("\(checkpoint.recipe.method) prompt from \(checkpoint.recipe.dataset) on \(data.record.name) \(split) (\(task.classes) classes): " + describe(result))
        }
    }
}

/// `cocoon zeroshot`: zero-shot CLIP with the dataset's hand-crafted template, or prompt
/// ensembling — the one zero-shot of cocoon (`ZeroShotMethod`, percent), as the demo uses it.
struct ZeroShot: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "zeroshot", abstract: "Zero-shot CLIP from the cache (hand-crafted prompt or ensemble).")
    @OptionGroup var task: TaskOptions
    @Option(help: "Split to evaluate: test or val.") var split: String = "test"
    @Flag(help: "Prompt ensembling (the papers' template set).") var ensemble = false
    @Option(help: "A template of your own, with {} for the class name.") var template: String?
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let (model, data) = try task.open()
        guard let which = ["test": Split.test, "val": .val][split] else { throw ValidationError("--split must be test or val") }
        let templates = data.dataset.templates.selected(template: template, ensemble: ensemble)
        let result = try Scoring.zeroShot(model: model, data: data, split: which, classes: try task.classSubset, templates: templates)
        if json {
            try printJSON(["dataset": data.record.name, "classes": task.classes, "split": split, "templates": templates,
                           "result": try jsonObject(result)])
        } else {
            print("zero-shot \(ensemble ? "ensemble of \(templates.count) templates" : "\"\(templates[0])\"") on \(data.record.name) \(split) (\(task.classes) classes): " + describe(result))
        }
    }
}

/// `cocoon probe`: the linear-probe CLIP baseline on cached features.
struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Linear-probe CLIP (logistic regression on cached features, λ chosen on val).")
    @OptionGroup var task: TaskOptions
    @Option(help: "Shots per class; omit for the whole train split.") var shots: Int?
    @Option(help: "Seed of the few-shot draw.") var seed: Int = 1
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let (model, data) = try task.open()
        let (result, lambda) = try Scoring.linearProbe(model: model, data: data, shots: shots, seed: seed, classes: try task.classSubset)
        if json {
            try printJSON(["dataset": data.record.name, "shots": shots as Any, "seed": seed, "lambda": lambda, "result": try jsonObject(result)])
        } else {
            print("linear probe on \(data.record.name) (\(shots.map { "\($0) shots" } ?? "all data"), seed \(seed), λ \(lambda)): " + describe(result))
        }
    }
}

/// `cocoon interpret PROMPT`: nearest vocabulary words of each learned context vector.
struct Interpret: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Nearest words (Euclidean) of each learned context vector.")
    @Argument(help: "Prompt checkpoint.") var prompt: String
    @Option(help: "CLIP model directory (its token embedding is searched).") var model: String
    @Option(help: "Words per context vector.") var top: Int = 3
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let checkpoint = try PromptCheckpoint.read(from: URL(fileURLWithPath: prompt))
        guard let context = checkpoint.tensor("ctx") else { throw ValidationError("\(prompt) has no ctx tensor") }
        let clip = try CLIPModelLoader.textOnly(model)
        let matches = try NearestWords.search(context: context, model: clip, top: top)
        if json {
            try printJSON(["prompt": prompt, "context": try matches.map { try jsonObject($0) }])
        } else {
            for (m, words) in matches.enumerated() {
                print(String(format: "%3d: ", m + 1) + words.map { String(format: "%@ (%.4f)", $0.token, $0.distance) }.joined(separator: "  "))
            }
        }
    }
}
