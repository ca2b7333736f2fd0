import ArgumentParser
import Demo
import Foundation
import Kernels

/// `cocoon demo`: the embedded demo end to end (what `make demo` runs).
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Run the embedded demo: synthetic data, index, zero-shot, CoOp, CoCoOp, report.")
    @Option(help: "Demo model directory.") var model: String = "demo/model"
    @Option(help: "Working directory (generated images, feature store, prompts).") var work: String = "demo-out"
    @Option(help: "Report directory (HTML, JSON, SVG).") var report: String = "demo-report"
    @Flag(help: "The seconds-long reduced plan (what make test checks).") var reduced = false
    @Option(help: threadsHelp) var threads: Int?
    @Option(help: precisionHelp) var precision: String = "fp32"
    @Option(help: "Shot counts of the few-shot table, comma-separated (default 1,2,4,16; CoOp's Figure 3 also has 8).")
    var shots: String?
    @Option(help: "Seeds, comma-separated (default 1,2,3).") var seeds: String?

    func run() throws {
        configureCompute(threads: threads)
        let start = Date()
        var plan: DemoPlan = reduced ? .reduced : .full
        plan.precision = try Precision(option: precision)
        if let shots { plan.shots = try integerList(shots, option: "--shots", minimum: 1) }
        if let seeds { plan.seeds = try integerList(seeds, option: "--seeds", minimum: 0) }
        let runner = DemoRunner(modelDirectory: URL(fileURLWithPath: model), workDirectory: URL(fileURLWithPath: work), plan: plan)
        runner.log = { print($0); fflush(stdout) }
        runner.showsProgress = true
        let results = try runner.run()
        print(DemoReport.tables(results))
        let reportURL = URL(fileURLWithPath: report)
        try DemoReport.write(results, to: reportURL, images: runner.dataRoot)
        print(String(format: "report: %@/index.html   (demo ran in %.0f s)", reportURL.path, Date().timeIntervalSince(start)))
    }
}
