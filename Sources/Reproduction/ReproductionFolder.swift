import Foundation
import PromptLearning

/// The score of one cell on one target: `cells/<cell>/scores/<dataset>-<classes>.json`.
public struct TargetScore: Codable {
    public var cell: String
    public var target: EvaluationTarget
    public var result: EvaluationResult
    /// The probe's regularisation, for linear-probe cells.
    public var lambda: Double?
}

/// The `--out` folder of a reproduction and everything in it: `plan.json`, one folder per cell
/// (prompt checkpoint, tuning report, one score file per target), and the tables and report.
/// Every file is written atomically by the one process that owns it (a cell's folder by the
/// worker or Slurm task running that cell; the tables by aggregation), so nothing is half
/// written and a rerun finds exactly what is done.
public struct ReproductionFolder {
    public let url: URL

    public init(_ url: URL) { self.url = url }

    public var planURL: URL { url.appendingPathComponent("plan.json") }
    public func cellURL(_ cell: Cell) -> URL { url.appendingPathComponent("cells").appendingPathComponent(cell.folderName) }
    public func checkpointURL(_ cell: Cell) -> URL { cellURL(cell).appendingPathComponent("prompt.safetensors") }
    public func scoreURL(_ cell: Cell, _ target: EvaluationTarget) -> URL {
        cellURL(cell).appendingPathComponent("scores").appendingPathComponent("\(target.key).json")
    }

    /// The targets of `cell` that have no score yet (a finished cell has none).
    public func missingTargets(_ cell: Cell) -> [EvaluationTarget] {
        cell.targets.filter { !FileManager.default.fileExists(atPath: scoreURL(cell, $0).path) }
    }

    public func isDone(_ cell: Cell) -> Bool { missingTargets(cell).isEmpty }

    public func write(_ score: TargetScore, for cell: Cell) throws {
        let url = scoreURL(cell, score.target)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Self.encoder.encode(score).write(to: url, options: .atomic)
    }

    /// Accuracy of every scored (cell id, target key) of `plan`.
    public func scores(_ plan: ReproductionPlan) throws -> [String: [String: Double]] {
        var scores: [String: [String: Double]] = [:]
        for cell in plan.cells {
            for target in cell.targets {
                let url = scoreURL(cell, target)
                guard let data = FileManager.default.contents(atPath: url.path) else { continue }
                do {
                    scores[cell.id, default: [:]][target.key] = try JSONDecoder().decode(TargetScore.self, from: data).result.accuracy
                } catch {
                    throw ReproductionError("\(url.path): unreadable score (\(error)); delete it and rerun to score the target again")
                }
            }
        }
        return scores
    }

    /// Writes `plan.json`: the plan of the latest run (cells of earlier settings stay beside its
    /// cells and are reused where their ids match; the tables show this plan).
    public func record(_ plan: ReproductionPlan) throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try Self.encoder.encode(plan).write(to: planURL, options: .atomic)
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }()
}
