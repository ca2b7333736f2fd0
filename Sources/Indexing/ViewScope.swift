import Datasets

/// Which training items get augmented views 1…K (`--views-for`): every train item (`all`), or only
/// the train items of CoOp few-shot draws (`fewshot:N:SEEDS`, e.g. `fewshot:16:1,2,3`), whose
/// subsets are then recorded in the store as `16shot-s1`, `16shot-s2`, …. Val and test items
/// always get view 0 (the eval transform) only. Parsed from the CLI; read by `Indexer`.
public enum ViewScope: Equatable, Sendable, CustomStringConvertible {
    case all
    case fewShot(shots: Int, seeds: [Int])

    /// Parses `all` or `fewshot:N:S1,S2,…` (N ≥ 1, at least one seed, seeds distinct).
    public init(parsing text: String) throws {
        if text == "all" { self = .all; return }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let usage = "--views-for '\(text)': expected 'all' or 'fewshot:N:SEEDS' such as fewshot:16:1,2,3"
        guard parts.count == 3, parts[0] == "fewshot", let shots = Int(parts[1]), shots >= 1 else {
            throw IndexingError(usage)
        }
        let seeds = parts[2].split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
        guard !seeds.isEmpty, seeds.allSatisfy({ $0 != nil }) else { throw IndexingError(usage) }
        let values = seeds.map { $0! }
        guard Set(values).count == values.count else { throw IndexingError("--views-for '\(text)': a seed is repeated; list each seed once") }
        self = .fewShot(shots: shots, seeds: values)
    }

    public var description: String {
        switch self {
        case .all: return "all"
        case .fewShot(let shots, let seeds): return "fewshot:\(shots):" + seeds.map(String.init).joined(separator: ",")
        }
    }

    /// Store names of the few-shot subsets, e.g. ["16shot-s1", "16shot-s2"] (empty for `all`).
    public var subsetNames: [String] {
        switch self {
        case .all: return []
        case .fewShot(let shots, let seeds): return seeds.map { FewShotSubsetName.make(shots: shots, seed: $0) }
        }
    }
}
