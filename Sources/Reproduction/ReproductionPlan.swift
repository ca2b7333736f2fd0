import Datasets
import Foundation
import PromptLearning

/// The papers' protocols `cocoon reproduce` plans, by their command-line names.
public enum ReproductionProtocol: String, CaseIterable, Codable, Sendable {
    /// CoOp Fig. 3: CoOp vs zero-shot vs linear probe at each shot count, per dataset and averaged.
    case fewShot = "fewshot"
    /// CoCoOp Table 1: train on the base half of the classes, test on base and new; H.
    case baseToNew = "base-to-new"
    /// CoCoOp Table 2: train on the source (ImageNet), test on the other datasets.
    case crossDataset = "cross-dataset"
    /// CoOp Table 1 / CoCoOp Table 3: train on ImageNet, test on ImageNet-V2/-Sketch/-A/-R.
    case domainGeneralisation = "domain-generalisation"
    /// CoOp Table 2 and the baselines: hand-crafted prompt, prompt ensembling, linear probe.
    case baselines
    /// CoOp's ablations: context length, class-specific context, class-token position, initialisation.
    case ablations

    /// Parses protocol names ("all" for every protocol), keeping the order given.
    public static func parse(_ names: [String]) throws -> [ReproductionProtocol] {
        var protocols: [ReproductionProtocol] = []
        for name in names {
            let found = name.lowercased() == "all" ? allCases : ReproductionProtocol(rawValue: name.lowercased()).map { [$0] }
            guard let found else {
                throw ReproductionError("unknown protocol '\(name)'; known: \(allCases.map(\.rawValue).joined(separator: ", ")), or all")
            }
            protocols += found.filter { !protocols.contains($0) }
        }
        return protocols
    }
}

/// A reproduction failure; `description` is one line naming the thing and the fix.
public struct ReproductionError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Everything a reproduction was asked for. The plan, the cell identities and the Slurm tasks are
/// functions of these settings only, so every process of a run (local workers, Slurm tasks)
/// recomputes the same plan from the same command line.
public struct ReproductionSettings: Codable, Sendable {
    public var protocols: [ReproductionProtocol]
    /// Canonical dataset names (the papers' eleven and the four ImageNet variants by default).
    public var datasets: [String]
    public var shots: [Int]
    public var seeds: [Int]
    /// Augmented views per few-shot training image.
    public var views: Int
    /// Caps every tuned cell's epochs (nil: the papers' schedules).
    public var maxEpochs: Int?
    /// Source of cross-dataset transfer and domain generalisation.
    public var source: String
    /// Fingerprint (hex) of the model the cells learn with.
    public var model: String

    public static let paperDatasets = ["ImageNet", "Caltech101", "OxfordPets", "StanfordCars", "OxfordFlowers", "Food101",
                                       "FGVCAircraft", "SUN397", "DescribableTextures", "EuroSAT", "UCF101"]
    public static let imageNetVariants = ["ImageNetV2", "ImageNetSketch", "ImageNetA", "ImageNetR"]

    public init(protocols: [ReproductionProtocol], datasets: [String], shots: [Int] = [1, 2, 4, 8, 16], seeds: [Int] = [1, 2, 3],
                views: Int = 10, maxEpochs: Int? = nil, source: String = "ImageNet", model: String) {
        self.protocols = protocols; self.datasets = datasets; self.shots = shots.sorted(); self.seeds = seeds
        self.views = views; self.maxEpochs = maxEpochs; self.source = source; self.model = model
    }

    /// Rejects settings no plan could use, naming the option.
    public func validate() throws {
        guard !protocols.isEmpty else { throw ReproductionError("name at least one protocol: \(ReproductionProtocol.allCases.map(\.rawValue).joined(separator: ", "))") }
        guard !datasets.isEmpty else { throw ReproductionError("--datasets: name at least one dataset") }
        guard !shots.isEmpty, shots.allSatisfy({ $0 >= 1 }) else { throw ReproductionError("--shots: give shot counts ≥ 1, e.g. 1,2,4,8,16") }
        guard !seeds.isEmpty, Set(seeds).count == seeds.count else { throw ReproductionError("--seeds: give distinct seeds, e.g. 1,2,3") }
        guard views >= 1 else { throw ReproductionError("--views \(views): the tuner trains on augmented views; give 1 or more") }
        if let maxEpochs, maxEpochs < 1 { throw ReproductionError("--max-epochs \(maxEpochs): give 1 or more") }
        let needsSource = protocols.contains(.crossDataset) || protocols.contains(.domainGeneralisation)
        if needsSource && !datasets.contains(source) {
            throw ReproductionError("cross-dataset and domain-generalisation train on \(source); add it to --datasets (or set --source)")
        }
    }

    /// Datasets with a train split (everything but the ImageNet variants).
    var trainable: [String] { datasets.filter { !Self.imageNetVariants.contains($0) } }
    /// The shot count of the 16-shot protocols (the largest asked for).
    var protocolShots: Int { shots.last! }
}

/// A planned reproduction: its cells (each once, targets merged across protocols), the tables
/// that read them, and what the store must hold. Made by `ReproductionPlan.make`.
public struct ReproductionPlan: Codable {
    public var settings: ReproductionSettings
    /// In a stable order (the Slurm array index is the position).
    public var cells: [Cell]
    public var tables: [TableSpec]
    /// Per trainable dataset, the shot counts whose few-shot draws need augmented views.
    public var draws: [String: [Int]]

    /// Plans `settings` (validated first).
    public static func make(_ settings: ReproductionSettings) throws -> ReproductionPlan {
        try settings.validate()
        var builder = PlanBuilder(settings: settings)
        for p in settings.protocols { builder.add(p) }
        return builder.plan()
    }

    /// Every dataset some cell reads (sources and targets), in `settings.datasets` order.
    public var datasets: [String] {
        let used = Set(cells.flatMap { [$0.source] + $0.targets.map(\.dataset) })
        return settings.datasets.filter(used.contains)
    }
}

/// Collects the cells and tables of each protocol; identical cells (same id) are kept once with
/// their targets merged.
struct PlanBuilder {
    let settings: ReproductionSettings
    private var cells: [String: Cell] = [:]
    private var order: [String] = []
    private var tables: [TableSpec] = []
    private var draws: [String: Set<Int>] = [:]

    init(settings: ReproductionSettings) { self.settings = settings }

    func plan() -> ReproductionPlan {
        ReproductionPlan(settings: settings, cells: order.map { cells[$0]! }, tables: tables,
                         draws: draws.mapValues { $0.sorted() })
    }

    /// Adds the cell (or merges its targets into the planned one) and returns its id.
    @discardableResult
    mutating func cell(_ method: CellMethod, source: String, shots: Int? = nil, seed: Int? = nil, classes: ClassSubset = .all,
                       _ h: Hyperparameters? = nil, targets: [EvaluationTarget]) -> String {
        var capped = h
        if let cap = settings.maxEpochs, let epochs = capped?.epochs { capped!.epochs = min(epochs, cap) }
        let views = method.isPrompt ? settings.views : 0
        let cell = Cell(method: method, source: source, shots: shots, seed: seed, classes: classes.rawValue,
                        hyperparameters: capped, views: views, model: settings.model, targets: targets.sorted())
        let id = cell.id
        if var known = cells[id] {
            known.targets = Array(Set(known.targets + targets)).sorted()
            cells[id] = known
        } else {
            cells[id] = cell
            order.append(id)
        }
        if method.isPrompt || method == .linearProbe, let shots { draws[source, default: []].insert(shots) }
        return id
    }

    /// One entry per seed of a tuned or probed cell, all scored on `target`.
    mutating func seeds(_ method: CellMethod, source: String, shots: Int, classes: ClassSubset = .all,
                        _ h: Hyperparameters?, targets: [EvaluationTarget]) -> [String] {
        settings.seeds.map { cell(method, source: source, shots: shots, seed: $0, classes: classes, h, targets: targets) }
    }

    mutating func add(_ p: ReproductionProtocol) {
        switch p {
        case .fewShot: addFewShot()
        case .baseToNew: addBaseToNew()
        case .crossDataset: addTransfer(p, targets: settings.trainable.filter { $0 != settings.source },
                                        title: "Cross-dataset transfer (source \(settings.source))")
        case .domainGeneralisation: addTransfer(p, targets: settings.datasets.filter(ReproductionSettings.imageNetVariants.contains),
                                                title: "Domain generalisation (source \(settings.source))")
        case .baselines: addBaselines()
        case .ablations: addAblations()
        }
    }

    private mutating func addFewShot() {
        var perDataset: [TableSpec] = []
        for d in settings.trainable {
            let own = [EvaluationTarget(dataset: d, classes: .all)]
            let zero = cell(.zeroShot, source: d, targets: own)
            var probe: [Entry] = [], zeroRow: [Entry] = []
            // CoOp, ProGrad's own few-shot protocol (its README) and the few-shot adapters: each
            // method's official defaults per shot count.
            let trained: [PromptMethod] = [.coop, .prograd] + PromptMethod.adapters
            var rows = [PromptMethod: [Entry]]()
            for s in settings.shots {
                zeroRow.append(.cells([zero], own[0]))
                probe.append(.cells(seeds(.linearProbe, source: d, shots: s, nil, targets: own), own[0]))
                for method in trained {
                    rows[method, default: []].append(.cells(seeds(.trained(method), source: d, shots: s,
                                                                  .defaults(method, shots: s, dataset: d), targets: own), own[0]))
                }
            }
            perDataset.append(TableSpec(protocolName: .fewShot, id: "fewshot-\(d)", title: "Few-shot: \(d)", corner: "method \\ shots",
                                        columns: settings.shots.map(String.init),
                                        rows: [.init(label: CellMethod.zeroShot.displayName, entries: zeroRow),
                                               .init(label: CellMethod.linearProbe.displayName, entries: probe)]
                                            + trained.map { .init(label: $0.displayName, entries: rows[$0]!) },
                                        chart: .lines(xLabel: "shots per class", yLabel: "accuracy (%)"),
                                        published: .fewShot, publishedDataset: d))
        }
        if perDataset.count > 1 {
            let rows = perDataset[0].rows.indices.map { r in
                TableSpec.Row(label: perDataset[0].rows[r].label, entries: settings.shots.indices.map { c in
                    .average(perDataset.map { $0.rows[r].entries[c] })
                })
            }
            tables.append(TableSpec(protocolName: .fewShot, id: "fewshot-average", title: "Few-shot: average over \(perDataset.count) datasets",
                                    corner: "method \\ shots", columns: settings.shots.map(String.init), rows: rows,
                                    chart: .lines(xLabel: "shots per class", yLabel: "accuracy (%)"),
                                    published: perDataset.count == 11 ? .fewShot : nil, publishedDataset: "average"))
        }
        tables += perDataset
    }

    private mutating func addBaseToNew() {
        let s = settings.protocolShots
        var rows: [String: [Entry]] = [:]
        let methods: [(String, CellMethod, (String) -> Hyperparameters?)] = [
            ("zero-shot CLIP", .zeroShot, { _ in nil }),
            ("CoOp", .coop, { Hyperparameters.coopContextV1(shots: s, dataset: $0) }),
            ("CoCoOp", .cocoop, { _ in Hyperparameters.cocoop() }),
            ("KgCoOp", .trained(.kgcoop), { _ in Hyperparameters.kgcoop() }),
            // ProGrad's own base-to-new script is RN50 at 4 shots; here it runs the protocol's shots.
            ("ProGrad", .trained(.prograd), { Hyperparameters.prograd(shots: s, dataset: $0) }),
        ]
        var perDataset: [TableSpec] = []
        for d in settings.trainable {
            let base = EvaluationTarget(dataset: d, classes: .base), new = EvaluationTarget(dataset: d, classes: .new)
            var tableRows: [TableSpec.Row] = []
            for (label, method, config) in methods {
                let ids = method == .zeroShot ? [cell(.zeroShot, source: d, targets: [base, new])]
                    : seeds(method, source: d, shots: s, classes: .base, config(d), targets: [base, new])
                let b = Entry.cells(ids, base), n = Entry.cells(ids, new)
                let entries = [b, n, .harmonic(b, n)]
                tableRows.append(.init(label: label, entries: entries))
                rows[label, default: []].append(contentsOf: entries)
            }
            perDataset.append(TableSpec(protocolName: .baseToNew, id: "base-to-new-\(d)", title: "Base-to-new: \(d)", corner: "method",
                                        columns: ["base", "new", "H"], rows: tableRows, chart: .bars(yLabel: "accuracy (%)")))
        }
        let averageRows = methods.map { label, _, _ -> TableSpec.Row in
            let all = rows[label]!
            let base = Entry.average(stride(from: 0, to: all.count, by: 3).map { all[$0] })
            let new = Entry.average(stride(from: 1, to: all.count, by: 3).map { all[$0] })
            return .init(label: label, entries: [base, new, .harmonic(base, new)])
        }
        tables.append(TableSpec(protocolName: .baseToNew, id: "base-to-new-average",
                                title: "Base-to-new: average over \(perDataset.count) datasets", corner: "method",
                                columns: ["base", "new", "H"], rows: averageRows, chart: .bars(yLabel: "accuracy (%)"),
                                published: .baseToNewAverage))
        tables += perDataset
    }

    private mutating func addTransfer(_ p: ReproductionProtocol, targets: [String], title: String) {
        let source = settings.source, s = settings.protocolShots
        let columns = [source] + targets
        let all = columns.map { EvaluationTarget(dataset: $0, classes: .all) }
        var rows: [TableSpec.Row] = []
        func row(_ label: String, _ ids: (EvaluationTarget) -> [String]) {
            let entries = all.map { Entry.cells(ids($0), $0) }
            rows.append(.init(label: label, entries: entries + (targets.count > 1 ? [.average(Array(entries.dropFirst()))] : [])))
        }
        row(CellMethod.zeroShot.displayName) { t in [self.cell(.zeroShot, source: t.dataset, targets: [t])] }
        if p == .domainGeneralisation {
            let probe = seeds(.linearProbe, source: source, shots: s, nil, targets: [all[0]])
            rows.append(.init(label: "linear probe", entries: [.cells(probe, all[0])] + Array(repeating: .missing, count: targets.count + (targets.count > 1 ? 1 : 0))))
            let m16 = seeds(.coop, source: source, shots: s, Hyperparameters.coop(shots: s, dataset: source), targets: all)
            row("CoOp M=16") { _ in m16 }
        }
        let m4 = seeds(.coop, source: source, shots: s, Hyperparameters.coopContextV1(shots: s, dataset: source), targets: all)
        row(p == .domainGeneralisation ? "CoOp M=4" : "CoOp") { _ in m4 }
        let co = seeds(.cocoop, source: source, shots: s, Hyperparameters.cocoop(), targets: all)
        row("CoCoOp") { _ in co }
        if p == .domainGeneralisation {
            // ProGrad's README: its ImageNet prompt scored on the variants (KgCoOp's repository has no such script).
            let pg = seeds(.trained(.prograd), source: source, shots: s, Hyperparameters.prograd(shots: s, dataset: source), targets: all)
            row("ProGrad") { _ in pg }
        }
        tables.append(TableSpec(protocolName: p, id: p.rawValue, title: title, corner: "method",
                                columns: columns + (targets.count > 1 ? ["target average"] : []), rows: rows, chart: nil,
                                published: p == .crossDataset ? .crossDataset : .domainGeneralisation))
    }

    private mutating func addBaselines() {
        var rows: [TableSpec.Row] = []
        let s = settings.protocolShots
        for d in settings.datasets {
            let own = EvaluationTarget(dataset: d, classes: .all)
            var entries: [Entry] = [.cells([cell(.zeroShot, source: d, targets: [own])], own),
                                    .cells([cell(.ensemble, source: d, targets: [own])], own)]
            entries.append(settings.trainable.contains(d) ? .cells(seeds(.linearProbe, source: d, shots: s, nil, targets: [own]), own) : .missing)
            rows.append(.init(label: d, entries: entries))
        }
        tables.append(TableSpec(protocolName: .baselines, id: "baselines", title: "Baselines (linear probe: \(s) shots)",
                                corner: "dataset", columns: ["hand-crafted prompt", "prompt ensembling", "linear probe"],
                                rows: rows, chart: nil, published: .promptEngineering))
    }

    private mutating func addAblations() {
        let s = settings.protocolShots
        var variants: [(String, (String) -> Hyperparameters)] = []
        for m in [4, 8, 16] {
            variants.append(("M=\(m) random init", { var h = Hyperparameters.coop(shots: s, dataset: $0); h.contextLength = m; return h }))
        }
        variants.append(("M=16 class-specific (CSC)", { var h = Hyperparameters.coop(shots: s, dataset: $0); h.classSpecific = true; return h }))
        for position in [ClassTokenPosition.middle, .front] {
            variants.append(("M=16 class token \(position.rawValue)", { var h = Hyperparameters.coop(shots: s, dataset: $0); h.position = position; return h }))
        }
        variants.append(("M=4 init \"a photo of a\"", { Hyperparameters.coopContextV1(shots: s, dataset: $0) }))
        let datasets = settings.trainable
        var rows: [TableSpec.Row] = []
        for (label, config) in variants {
            var entries: [Entry] = datasets.map { d in
                let own = EvaluationTarget(dataset: d, classes: .all)
                return .cells(seeds(.coop, source: d, shots: s, config(d), targets: [own]), own)
            }
            if datasets.count > 1 { entries.append(.average(entries)) }
            rows.append(.init(label: label, entries: entries))
        }
        tables.append(TableSpec(protocolName: .ablations, id: "ablations", title: "CoOp ablations (\(s) shots)", corner: "setting",
                                columns: datasets + (datasets.count > 1 ? ["average"] : []), rows: rows, chart: nil))
    }
}
