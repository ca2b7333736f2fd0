import Foundation

/// The stages of a reproduction as separate processes: what `--stage` selects, what each Slurm
/// job runs, and what the local `--jobs` workers run (`tune` with `--task`).
public enum ReproductionStage: String, CaseIterable, Sendable {
    /// Everything in order in this process (index, tune with `--jobs` workers, aggregate).
    case all
    /// Index shard task `--task` (dataset × shard) into its own shard store.
    case index
    /// Merge every shard store into `--store` (idempotent).
    case merge
    /// Run cell `--task` of the plan.
    case tune
    /// Write the tables and the report from whatever is scored.
    case aggregate
}

/// The plan as sbatch array jobs (`--slurm`): index shards → merge → one task per pending cell
/// → aggregation, chained with `afterok` dependencies by `submit.sh`. Every task reruns this
/// very command with `--stage S --task $SLURM_ARRAY_TASK_ID`, so it recomputes the same plan;
/// each task writes only its shard store or its cell's folder, and a resubmission (after
/// `--slurm` is run again) lists only the cells still pending.
public struct SlurmScripts {
    /// The cocoon executable and the reproduce arguments every task repeats (absolute paths).
    public var command: [String]
    public var folder: ReproductionFolder
    /// Index tasks: datasets × shards per dataset.
    public var indexDatasets: [String]
    public var shards: Int
    /// Plan positions of the cells still to run.
    public var pendingCells: [Int]
    public var cpusPerTask: Int

    public init(command: [String], folder: ReproductionFolder, indexDatasets: [String], shards: Int, pendingCells: [Int], cpusPerTask: Int) {
        self.command = command; self.folder = folder; self.indexDatasets = indexDatasets; self.shards = shards
        self.pendingCells = pendingCells; self.cpusPerTask = cpusPerTask
    }

    public var directory: URL { folder.url.appendingPathComponent("slurm") }

    /// The shard store of index task `task`.
    public static func shardStore(_ folder: ReproductionFolder, task: Int) -> URL {
        folder.url.appendingPathComponent("slurm").appendingPathComponent("shards").appendingPathComponent("task-\(task)")
    }

    /// Writes `index.sbatch`, `merge.sbatch`, `tune.sbatch`, `aggregate.sbatch` and `submit.sh`.
    public func write() throws {
        let logs = directory.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let indexTasks = indexDatasets.count * shards
        try script("index", array: "0-\(indexTasks - 1)", stage: .index)
        try script("merge", array: nil, stage: .merge)
        if !pendingCells.isEmpty { try script("tune", array: Self.ranges(pendingCells), stage: .tune) }
        try script("aggregate", array: nil, stage: .aggregate)
        var submit = """
        #!/bin/bash
        # Submits the reproduction: index shards, then merge, then one task per pending cell, then aggregation.
        set -euo pipefail
        cd "$(dirname "$0")"
        index=$(sbatch --parsable index.sbatch)
        merge=$(sbatch --parsable --dependency=afterok:$index merge.sbatch)
        last=$merge

        """
        if !pendingCells.isEmpty { submit += "tune=$(sbatch --parsable --dependency=afterok:$merge tune.sbatch)\nlast=$tune\n" }
        submit += "aggregate=$(sbatch --parsable --dependency=afterok:$last aggregate.sbatch)\n"
        submit += "echo \"submitted: index $index, merge $merge\(pendingCells.isEmpty ? "" : ", tune $tune (\(pendingCells.count) cells)"), aggregate $aggregate\"\n"
        let url = directory.appendingPathComponent("submit.sh")
        try submit.write(to: url, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
    }

    /// Runs `submit.sh`, which submits the jobs (Slurm must be reachable).
    public func submit() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [directory.appendingPathComponent("submit.sh").path]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw ReproductionError("submit.sh failed (status \(p.terminationStatus)); is Slurm reachable (sinfo)?") }
    }

    private func script(_ name: String, array: String?, stage: ReproductionStage) throws {
        let task = array == nil ? [] : ["--task", "$SLURM_ARRAY_TASK_ID"]
        let line = (command + ["--stage", stage.rawValue] + task + ["--threads", "$SLURM_CPUS_PER_TASK"]).map(Self.quoted).joined(separator: " ")
        let log = directory.appendingPathComponent("logs").appendingPathComponent(array == nil ? "\(name)-%j.out" : "\(name)-%A_%a.out").path
        var text = "#!/bin/bash\n#SBATCH --job-name=cocoon-\(name)\n#SBATCH --cpus-per-task=\(cpusPerTask)\n#SBATCH --output=\(log)\n"
        if let array { text += "#SBATCH --array=\(array)\n" }
        text += "set -euo pipefail\nexec \(line)\n"
        try text.write(to: directory.appendingPathComponent("\(name).sbatch"), atomically: true, encoding: .utf8)
    }

    /// "0-3,7,9-10" for [0, 1, 2, 3, 7, 9, 10].
    static func ranges(_ values: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        while i < values.count {
            var j = i
            while j + 1 < values.count && values[j + 1] == values[j] + 1 { j += 1 }
            parts.append(i == j ? "\(values[i])" : "\(values[i])-\(values[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }

    /// Single-quoted for bash, except `$SLURM_…` variables, which stay expandable.
    static func quoted(_ word: String) -> String {
        if word.hasPrefix("$SLURM_") { return "\"\(word)\"" }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
