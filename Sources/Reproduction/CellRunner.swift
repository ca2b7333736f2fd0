import CLIP
import FeatureCache
import Foundation
import PromptLearning

/// Runs cells against one store and model: trains a prompt through `Tuning` (checkpoint after
/// every epoch; an interrupted cell resumes from it bit-identically), fits the linear probe, or
/// builds the zero-shot classifier, then scores every target the cell lacks through `Scoring` —
/// the same calls `cocoon tune`, `eval`, `zeroshot` and `probe` make. Used by the local run,
/// the `--jobs` workers and the Slurm tasks.
public final class CellRunner {
    public let model: CLIPModel
    public let store: FeatureStore
    public let folder: ReproductionFolder
    private var datasets: [String: CachedDataset] = [:]

    public init(model: CLIPModel, store: FeatureStore, folder: ReproductionFolder) {
        self.model = model; self.store = store; self.folder = folder
    }

    private func data(_ name: String) throws -> CachedDataset {
        if let known = datasets[name] { return known }
        let opened = try CachedDataset(store: store, model: .fingerprint(model.directory.fingerprint.hex), datasetName: name)
        datasets[name] = opened
        return opened
    }

    /// Runs what `cell` still lacks; returns the seconds spent (0 when it was done).
    @discardableResult
    public func run(_ cell: Cell) throws -> Double {
        let missing = folder.missingTargets(cell)
        guard !missing.isEmpty else { return 0 }
        let start = Date()
        try FileManager.default.createDirectory(at: folder.cellURL(cell), withIntermediateDirectories: true)
        switch cell.method {
        case .trained:
            let checkpoint = try train(cell)
            for target in missing {
                let result = try Scoring.prompt(checkpoint, model: model, data: try data(target.dataset), split: .test, classes: target.subset)
                try folder.write(TargetScore(cell: cell.id, target: target, result: result), for: cell)
            }
        case .zeroShot, .ensemble:
            for target in missing {
                let data = try data(target.dataset)
                let templates = cell.method == .ensemble ? data.dataset.templates.ensemble : [data.dataset.templates.zeroShot]
                let result = try Scoring.zeroShot(model: model, data: data, split: .test, classes: target.subset, templates: templates)
                try folder.write(TargetScore(cell: cell.id, target: target, result: result), for: cell)
            }
        case .linearProbe:
            for target in missing {
                guard target.dataset == cell.source, target.classes == cell.classes else {
                    throw ReproductionError("a linear probe scores only its own dataset and classes; cell \(cell.id) asks for \(target.key)")
                }
                let (result, lambda) = try Scoring.linearProbe(model: model, data: try data(cell.source), shots: cell.shots, seed: cell.seed ?? 1,
                                                               classes: cell.subset)
                try folder.write(TargetScore(cell: cell.id, target: target, result: result, lambda: lambda), for: cell)
            }
        }
        return Date().timeIntervalSince(start)
    }

    /// The cell's finished prompt: trained now, resumed from its last epoch, or read as it is.
    private func train(_ cell: Cell) throws -> PromptCheckpoint {
        let url = folder.checkpointURL(cell)
        let report = url.deletingPathExtension().appendingPathExtension("json")
        if !FileManager.default.fileExists(atPath: report.path) {
            let request = TuningRequest(method: cell.method.promptMethod!, shots: cell.shots, seed: cell.seed ?? 1, classes: cell.subset,
                                        hyperparameters: cell.hyperparameters!, checkpoint: url,
                                        resume: FileManager.default.fileExists(atPath: url.path))
            _ = try Tuning.run(model: model, data: try data(cell.source), request: request)
        }
        return try PromptCheckpoint.read(from: url)
    }
}
