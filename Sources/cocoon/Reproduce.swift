import ArgumentParser
import CLIP
import Datasets
import Foundation
import Reproduction

/// `cocoon reproduce PROTOCOL…`: the papers' protocols as one resumable command — plan the cells,
/// index what the store lacks, run the cells (`--jobs` at a time), write the tables and the
/// report; `--dry-run` estimates, `--slurm` writes (and `--submit` submits) sbatch array jobs.
struct Reproduce: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the papers' protocols (fewshot, base-to-new, cross-dataset, domain-generalisation, baselines, ablations) from the cache.")

    @Argument(help: "Protocols: fewshot, base-to-new, cross-dataset, domain-generalisation, baselines, ablations, or all.")
    var protocols: [String]
    @Option(help: "CoOp's $DATA: the folder holding oxford_pets/, imagenet/, …") var root: String
    @Option(help: "CLIP model directory.") var model: String
    @Option(help: "Feature store directory (created if missing; indexed as needed).") var store: String
    @Option(help: "Output folder: cells, tables.md/json, report.html (rerun to resume).") var out: String
    @Option(help: "Datasets, comma-separated (default: those of the eleven and the four ImageNet variants found under --root).")
    var datasets: String?
    @Option(help: "Shot counts, comma-separated (the 16-shot protocols use the largest).") var shots: String = "1,2,4,8,16"
    @Option(help: "Seeds, comma-separated.") var seeds: String = "1,2,3"
    @Option(help: "K augmented views per few-shot training image.") var views: Int = 10
    @Option(name: .customLong("max-epochs"), help: "Cap every tuned cell's epochs (default: the papers' schedules).") var maxEpochs: Int?
    @Option(help: "Source dataset of cross-dataset transfer and domain generalisation.") var source: String = "ImageNet"
    @Option(help: "Cells run at once, each in its own process.") var jobs: Int = 1
    @Flag(name: .customLong("dry-run"), help: "Print the cells and a time estimate measured on this machine; run nothing.") var dryRun = false
    @Flag(help: "Write the plan as Slurm array jobs into OUT/slurm (index shards → merge → cells → aggregation).") var slurm = false
    @Flag(help: "With --slurm: submit them (OUT/slurm/submit.sh).") var submit = false
    @Option(help: "With --slurm: index shards per dataset.") var shards: Int = 1
    @Option(name: .customLong("cpus-per-task"), help: "With --slurm: CPUs of each task.") var cpusPerTask: Int = 1
    @Option(help: .hidden) var stage: String = "all"
    @Option(help: .hidden) var task: Int?
    @Option(help: threadsHelp) var threads: Int?

    func run() throws {
        guard let stage = ReproductionStage(rawValue: stage) else { throw ValidationError("--stage must be one of \(ReproductionStage.allCases.map(\.rawValue))") }
        guard jobs >= 1 else { throw ValidationError("--jobs \(jobs): give 1 or more") }
        guard shards >= 1, cpusPerTask >= 1 else { throw ValidationError("--shards and --cpus-per-task: give 1 or more") }
        if submit && !slurm { throw ValidationError("--submit needs --slurm") }
        let threads = configureCompute(threads: self.threads)
        let clip = try CLIPModel(directory: modelURL, loadImageTower: false)
        let plan = try ReproductionPlan.make(ReproductionSettings(
            protocols: try ReproductionProtocol.parse(protocols), datasets: try datasetNames(rootURL), shots: try integerList(shots, option: "--shots", minimum: 1),
            seeds: try integerList(seeds, option: "--seeds", minimum: 0), views: views, maxEpochs: maxEpochs, source: try DatasetCatalog.canonicalName(source),
            model: clip.directory.fingerprint.hex))
        let folder = ReproductionFolder(URL(fileURLWithPath: out))
        let work = ReproductionRun(plan: plan, folder: folder, model: modelURL, root: rootURL, store: store, shards: shards) {
            print($0)
            fflush(stdout)
        }

        switch stage {
        case .all: break
        case .index: return try work.indexShard(try requireTask(work.indexTasks))
        case .merge: return try work.mergeShards()
        case .tune: return try work.runCell(try requireTask(plan.cells.count), model: clip)
        case .aggregate: return try work.aggregate(model: clip, quiet: true)
        }

        try folder.record(plan)
        let pending = plan.cells.indices.filter { !folder.isDone(plan.cells[$0]) }
        print("plan: \(plan.cells.count) cells over \(plan.datasets.count) datasets; \(plan.cells.count - pending.count) done, \(pending.count) to run")
        if dryRun { return try printEstimate(plan, pending: pending.map { plan.cells[$0] }) }
        if slurm { return try writeSlurm(plan, folder: folder, pending: pending) }

        try work.index()
        let threadsPerJob = max(1, threads / jobs)
        try work.runCells(pending, model: clip, jobs: jobs) {
            try stageArguments() + ["--stage", "tune", "--task", String($0), "--threads", String(threadsPerJob)]
        }
        try work.aggregate(model: clip, quiet: false)
    }

    private func requireTask(_ count: Int) throws -> Int {
        guard let task, task >= 0, task < count else { throw ValidationError("--task: give 0..<\(count) for this stage") }
        return task
    }

    private var modelURL: URL { URL(fileURLWithPath: model).standardizedFileURL }
    private var rootURL: URL { URL(fileURLWithPath: root).standardizedFileURL }

    // MARK: dry run and Slurm

    private func printEstimate(_ plan: ReproductionPlan, pending: [Cell]) throws {
        let estimate = try ReproductionEstimate.measure(plan: plan, pending: pending, modelDirectory: modelURL, root: rootURL)
        for cost in estimate.cells {
            print(String(format: "  %@: %d steps × %.3f s = %@", cost.cell.summary, cost.steps, cost.secondsPerStep, duration(cost.seconds)))
        }
        let baselines = pending.filter { !$0.method.isPrompt }.count
        if baselines > 0 { print("  \(baselines) zero-shot, ensembling and linear-probe cells: seconds each") }
        let tune = estimate.tuneSeconds, index = estimate.indexSeconds
        print(String(format: "index: at most %d images at %.1f images/s = %@", estimate.images, estimate.imagesPerSecond, duration(index)))
        let longest = estimate.cells.map(\.seconds).max() ?? 0
        print("tune: \(estimate.cells.count) prompt cells, \(duration(tune)) of steps (longest cell \(duration(longest))); "
              + "wall with --jobs \(jobs): ≈ \(duration(index + max(tune / Double(jobs), longest)))")
        print("(formula: images ÷ images/s + max(Σ cells epochs × steps/epoch × s/step ÷ parallel tasks, longest cell); s/step measured here per method, classes and context)")
    }

    private func writeSlurm(_ plan: ReproductionPlan, folder: ReproductionFolder, pending: [Int]) throws {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let scripts = SlurmScripts(command: [executable] + (try stageArguments()), folder: folder, indexDatasets: plan.datasets,
                                   shards: shards, pendingCells: pending, cpusPerTask: cpusPerTask)
        try scripts.write()
        print("wrote \(scripts.directory.path): index.sbatch (\(plan.datasets.count * shards) tasks), merge.sbatch, "
              + (pending.isEmpty ? "" : "tune.sbatch (\(pending.count) tasks), ") + "aggregate.sbatch, submit.sh")
        guard submit else { return print("submit with: \(scripts.directory.appendingPathComponent("submit.sh").path)") }
        try scripts.submit()
    }

    /// This command's plan-defining arguments with absolute paths: what workers and Slurm tasks rerun.
    private func stageArguments() throws -> [String] {
        func absolute(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }
        return ["reproduce"] + protocols + ["--root", absolute(root), "--model", absolute(model), "--store", absolute(store),
                                            "--out", absolute(out), "--datasets", try datasetNames(rootURL).joined(separator: ","),
                                            "--shots", shots, "--seeds", seeds, "--views", String(views), "--source", source,
                                            "--shards", String(shards)]
            + (maxEpochs.map { ["--max-epochs", String($0)] } ?? [])
    }

    // MARK: parsing

    /// `--datasets` as canonical names, or the papers' datasets found under `root`.
    private func datasetNames(_ root: URL) throws -> [String] {
        if let datasets {
            return try datasets.split(separator: ",").map { try DatasetCatalog.canonicalName(String($0).trimmingCharacters(in: .whitespaces)) }
        }
        let found = (ReproductionSettings.paperDatasets + ReproductionSettings.imageNetVariants).filter {
            FileManager.default.fileExists(atPath: root.appendingPathComponent(DatasetCatalog.folder(of: $0)!).path)
        }
        guard !found.isEmpty else { throw ValidationError("--root \(root.path): none of the papers' dataset folders is there; check the path or pass --datasets") }
        return found
    }
}

private func duration(_ seconds: Double) -> String {
    if seconds < 90 { return String(format: "%.0f s", seconds) }
    if seconds < 5400 { return String(format: "%.1f min", seconds / 60) }
    return String(format: "%.1f h", seconds / 3600)
}
