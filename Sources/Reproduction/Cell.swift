import Datasets
import Foundation
import Hashing
import PromptLearning

/// What a cell computes: a method trained from the cache (any `PromptMethod`, reached through its
/// definition), or one of the papers' training-free baselines. Spelled as the method's name in
/// cell ids and JSON ("coop", "tip-adapter-f", "zero-shot", …).
public enum CellMethod: Hashable, Codable, Sendable {
    case zeroShot
    case ensemble
    case linearProbe
    case trained(PromptMethod)

    public static let coop = CellMethod.trained(.coop)
    public static let cocoop = CellMethod.trained(.cocoop)

    public init?(rawValue: String) {
        switch rawValue {
        case "zero-shot": self = .zeroShot
        case "ensemble": self = .ensemble
        case "linear-probe": self = .linearProbe
        default:
            guard let method = PromptMethod(rawValue: rawValue) else { return nil }
            self = .trained(method)
        }
    }

    public var rawValue: String {
        switch self {
        case .zeroShot: return "zero-shot"
        case .ensemble: return "ensemble"
        case .linearProbe: return "linear-probe"
        case .trained(let method): return method.rawValue
        }
    }

    public init(from decoder: Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let method = CellMethod(rawValue: name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown cell method \(name)"))
        }
        self = method
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// The method the cell trains (and so has a checkpoint to resume); nil for the baselines.
    public var promptMethod: PromptMethod? {
        if case .trained(let method) = self { return method }
        return nil
    }

    /// Whether the cell trains (and so has a checkpoint to resume).
    public var isPrompt: Bool { promptMethod != nil }

    public var displayName: String {
        switch self {
        case .zeroShot: return "zero-shot CLIP"
        case .ensemble: return "prompt ensembling"
        case .linearProbe: return "linear probe"
        case .trained(let method): return method.displayName
        }
    }
}

/// One test split a cell is scored on: a dataset and a class half.
public struct EvaluationTarget: Codable, Hashable, Comparable, Sendable {
    public var dataset: String
    public var classes: String

    public init(dataset: String, classes: ClassSubset) {
        self.dataset = dataset
        self.classes = classes.rawValue
    }

    public var subset: ClassSubset { ClassSubset(rawValue: classes)! }
    /// File-name stem of the target's result: `<dataset>-<classes>`.
    public var key: String { "\(dataset)-\(classes)" }

    public static func < (a: Self, b: Self) -> Bool { (a.dataset, a.classes) < (b.dataset, b.classes) }
}

/// One unit of a reproduction: a method trained (or fitted) once on a source dataset's few-shot
/// draw, then scored on each of its targets. Its identity is every setting that changes what
/// it learns — model, views, method, source, shots, seed, class half, hyper-parameters — so a
/// changed setting is a new cell and a finished cell is never rerun; the targets are not part of
/// it (adding a target scores the same prompt once more). The planner makes cells; the runner,
/// the Slurm tasks and the tables read them.
public struct Cell: Codable, Equatable {
    public var method: CellMethod
    /// Dataset trained on (the evaluated dataset for zero-shot and ensembling).
    public var source: String
    public var shots: Int?
    public var seed: Int?
    public var classes: String
    /// Tuned methods only; epochs already capped by the plan.
    public var hyperparameters: Hyperparameters?
    /// Augmented views per training image the cell reads (0: view 0 only).
    public var views: Int
    /// Model fingerprint (hex).
    public var model: String
    /// Sorted; not part of `id`.
    public var targets: [EvaluationTarget]

    public var subset: ClassSubset { ClassSubset(rawValue: classes)! }

    /// 16 hex digits of SHA-256 over the canonical JSON of the identity fields.
    public var id: String {
        var identity = self
        identity.targets = []
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes = Array(try! encoder.encode(identity))
        return String(hexString(SHA256.digest(bytes)).prefix(16))
    }

    /// Folder name under `cells/`: readable settings, then the id.
    public var folderName: String {
        var parts = [method.rawValue, source]
        if let shots { parts.append("\(shots)shot") }
        if let seed { parts.append("seed\(seed)") }
        if classes != ClassSubset.all.rawValue { parts.append(classes) }
        parts.append(id)
        return parts.joined(separator: "-")
    }

    /// One line for plans and logs.
    public var summary: String {
        var text = "\(method.displayName) on \(source)"
        if let shots { text += ", \(shots) shots" }
        if let seed { text += ", seed \(seed)" }
        if classes != ClassSubset.all.rawValue { text += ", \(classes) classes" }
        if let h = hyperparameters {
            text += ", M=\(h.contextLength)\(h.initPhrase.map { " \"\($0)\"" } ?? "")\(h.classSpecific ? " CSC" : "")"
            text += "\(h.position == .end ? "" : " \(h.position.rawValue)"), \(h.epochs) epochs"
        }
        return text + " → " + targets.map(\.key).joined(separator: ", ")
    }
}
