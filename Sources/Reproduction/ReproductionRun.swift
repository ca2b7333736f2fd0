import CLIP
import FeatureCache
import Foundation
import Indexing

/// A reproduction's work in this process, stage by stage (`ReproductionStage`): indexing what the
/// store lacks (all of it, or one Slurm index task into its shard store), merging the shard
/// stores, running cells (here, or `jobs` at a time in worker processes) and aggregating the
/// tables and report. What `cocoon reproduce` runs once it has parsed its options; every line for
/// the user goes to `log`.
public struct ReproductionRun {
    public var plan: ReproductionPlan
    public var folder: ReproductionFolder
    /// The model directory and CoOp's `$DATA` (absolute).
    public var model: URL
    public var root: URL
    /// The feature store directory.
    public var store: String
    /// Index shards per dataset (the Slurm index array).
    public var shards: Int
    public var log: (String) -> Void

    public init(plan: ReproductionPlan, folder: ReproductionFolder, model: URL, root: URL, store: String, shards: Int,
                log: @escaping (String) -> Void) {
        self.plan = plan; self.folder = folder; self.model = model; self.root = root; self.store = store
        self.shards = shards; self.log = log
    }

    /// Index tasks of a Slurm run: task t indexes shard `t % shards` of dataset `t / shards`.
    public var indexTasks: Int { plan.datasets.count * shards }

    /// Indexes into the store everything the plan reads (`IndexRun.runs`).
    public func index() throws {
        for run in IndexRun.runs(for: plan) {
            log(try Indexer(settings: try run.settings(plan: plan, model: model, root: root, store: store)).run().text)
        }
    }

    /// Index task `task` (0..<`indexTasks`): its dataset's shard into the task's shard store.
    public func indexShard(_ task: Int) throws {
        let dataset = plan.datasets[task / shards]
        let selector = try ShardSelector(index: task % shards, count: shards)
        let storePath = SlurmScripts.shardStore(folder, task: task).path
        for run in IndexRun.runs(for: plan) where run.dataset == dataset {
            let settings = try run.settings(plan: plan, model: model, root: root, store: storePath, shard: selector)
            log(try Indexer(settings: settings, showsProgress: false).run().text)
        }
    }

    /// Merges every index task's shard store into the store (idempotent).
    public func mergeShards() throws {
        let target = try FeatureStore(path: store, options: FeatureStore.Options(create: true))
        for task in 0..<indexTasks {
            let path = SlurmScripts.shardStore(folder, task: task).path
            guard FileManager.default.fileExists(atPath: path) else {
                throw ReproductionError("\(path): index task \(task) left no shard store; resubmit (the index job failed or never ran)")
            }
            let report = try target.merge(from: try FeatureStore(path: path))
            log("\(path): copied \(report.copied.values.reduce(0, +)) entries, \(report.identical.values.reduce(0, +)) already present")
        }
    }

    /// Runs cell `task` of the plan (a `--jobs` worker or a Slurm tune task).
    public func runCell(_ task: Int, model clip: CLIPModel) throws {
        let runner = CellRunner(model: clip, store: try FeatureStore(path: store), folder: folder)
        try run(plan.cells[task], runner: runner, position: nil)
    }

    /// Runs the cells at plan positions `pending`: one after another here when `jobs` is 1 (or
    /// one cell is left), else `jobs` at a time, each in a process of its own that reruns this
    /// program with `workerArguments(i)` (which run cell i).
    public func runCells(_ pending: [Int], model clip: CLIPModel, jobs: Int,
                         workerArguments: (Int) throws -> [String]) throws {
        if jobs == 1 || pending.count <= 1 {
            let runner = CellRunner(model: clip, store: try FeatureStore(path: store), folder: folder)   // datasets opened once
            for (k, i) in pending.enumerated() { try run(plan.cells[i], runner: runner, position: (k + 1, pending.count)) }
        } else {
            try runWorkers(pending, jobs: jobs, workerArguments: workerArguments)
        }
    }

    private func run(_ cell: Cell, runner: CellRunner, position: (Int, Int)?) throws {
        let seconds = try runner.run(cell)
        let prefix = position.map { "[\($0.0)/\($0.1)] " } ?? ""
        log(prefix + cell.summary + String(format: " (%.1f s)", seconds))
    }

    /// Runs `pending` cells `jobs` at a time, each as `/proc/self/exe` with `workerArguments(i)`.
    private func runWorkers(_ pending: [Int], jobs: Int, workerArguments: (Int) throws -> [String]) throws {
        var queue = pending[...]
        var running: [(task: Int, process: Process)] = []
        var failed: [Int] = []
        while !queue.isEmpty || !running.isEmpty {
            while running.count < jobs, let i = queue.popFirst() {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/proc/self/exe")
                p.arguments = try workerArguments(i)
                try p.run()
                running.append((i, p))
            }
            Thread.sleep(forTimeInterval: 0.05)
            failed += running.filter { !$0.process.isRunning && $0.process.terminationStatus != 0 }.map(\.task)
            running.removeAll { !$0.process.isRunning }
        }
        guard failed.isEmpty else {
            throw ReproductionError("\(failed.count) of \(pending.count) cells failed (tasks \(failed.sorted().map(String.init).joined(separator: ",")); their errors are above); rerun the same command to retry them")
        }
    }

    /// Writes the tables and the report from whatever is scored; logs the tables unless `quiet`,
    /// then where they are.
    public func aggregate(model clip: CLIPModel, quiet: Bool) throws {
        try folder.record(plan)
        let backbone = ReproductionReport.backbone(clip.architecture)
        let tables = try ReproductionReport.tables(plan: plan, folder: folder, backbone: backbone)
        try ReproductionReport.write(tables, plan: plan, backbone: backbone, modelName: model.lastPathComponent, to: folder)
        if !quiet { log("\n" + tables.map(\.markdown).joined(separator: "\n")) }
        log("tables: \(folder.url.appendingPathComponent("tables.md").path); report: \(folder.url.appendingPathComponent("report.html").path)")
    }
}
