import Foundation
import TestSupport
import XCTest

/// `cocoon reproduce` on a reduced grid of synthetic datasets in CoOp's official layouts
/// (`cocoon synth --layout coop`) with the demo model: the tables' numbers equal the individual
/// `tune`, `eval`, `zeroshot` and `probe` commands; a rerun runs nothing; a changed setting makes
/// new cells; an interrupted cell resumes to the same learned tensors.
final class ReproduceTests: XCTestCase {
    static func grid(maxEpochs: Int = 3) -> [String] {
        ["--datasets", "ImageNet,EuroSAT,ImageNetSketch,ImageNetA", "--shots", "1,2", "--seeds", "1,2", "--views", "1", "--max-epochs", "\(maxEpochs)"]
    }

    /// The world, the store and one finished reproduction, made once for the class.
    struct Run {
        let scratch: Scratch
        var root: String { scratch.path("data") }
        var store: String { scratch.path("store") }
        var out: String { scratch.path("out") }
        let stdout: String
        let seconds: Double
    }

    static let run: Result<Run, Error> = Result {
        let scratch = try Scratch("reproduce")
        _ = try runCocoonOK(["synth", "--layout", "coop", "--out", scratch.path("data"), "--classes", "6", "--per-class", "6,2,4", "--threads", "2"])
        let start = Date()
        let stdout = try runCocoonOK(["reproduce", "fewshot", "base-to-new", "domain-generalisation", "baselines", "--root", scratch.path("data"),
                                      "--model", Paths.demoModel.path, "--store", scratch.path("store"), "--out", scratch.path("out"),
                                      "--jobs", "2"] + grid())
        return Run(scratch: scratch, stdout: stdout, seconds: Date().timeIntervalSince(start))
    }

    private func reproduce(_ run: Run, maxEpochs: Int = 3, _ extra: [String]) throws -> String {
        try runCocoonOK(["reproduce", "fewshot", "base-to-new", "domain-generalisation", "baselines", "--root", run.root,
                         "--model", Paths.demoModel.path, "--store", run.store, "--out", run.out] + Self.grid(maxEpochs: maxEpochs) + extra)
    }

    /// tables.json as [table id: (rows by label: values as (mean, std))].
    private func tables(_ run: Run) throws -> [String: [String: [[String: Any]?]]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: run.out).appendingPathComponent("tables.json"))
        let list = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        var out: [String: [String: [[String: Any]?]]] = [:]
        for table in list {
            let rows = try XCTUnwrap(table["rows"] as? [[String: Any]])
            var byLabel: [String: [[String: Any]?]] = [:]
            for row in rows { byLabel[row["label"] as! String] = (row["values"] as! [Any]).map { $0 as? [String: Any] } }
            out[table["id"] as! String] = byLabel
        }
        return out
    }

    private func accuracy(_ json: [String: Any]) throws -> Double {
        let result = try XCTUnwrap((json["result"] ?? json["test"]) as? [String: Any], "\(json)")
        return try XCTUnwrap(result["accuracy"] as? Double)
    }

    private func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }

    func testTablesEqualTheIndividualCommands() throws {
        let run = try Self.run.get()
        XCTAssertTrue(run.stdout.contains("plan: "), run.stdout)
        print("reduced grid (4 protocols, 4 datasets, shots 1,2, seeds 1,2, --jobs 2): \(String(format: "%.1f", run.seconds)) s")
        let t = try tables(run)
        let task = ["--store", run.store, "--model", Paths.demoModel.path]
        let scratch = try Scratch("reproduce-check")

        // Few-shot: CoOp at 2 shots, seeds 1 and 2 (3 epochs), as `tune` and as `eval` of its prompt.
        var coop: [Double] = []
        for seed in [1, 2] {
            let prompt = scratch.path("coop-\(seed).safetensors")
            let tuned = try runCocoonJSON(["tune", "coop"] + task + ["--dataset", "EuroSAT", "--shots", "2", "--seeds", "\(seed)", "--epochs", "3",
                                                                      "--out", prompt, "--quiet"])
            let outcome = try XCTUnwrap((tuned["runs"] as? [[String: Any]])?.first)
            let evaluated = try runCocoonJSON(["eval", prompt] + task + ["--dataset", "EuroSAT"])
            XCTAssertEqual(try accuracy(outcome), try accuracy(evaluated), accuracy: 1e-9)
            coop.append(try accuracy(evaluated))
        }
        let fewShot = try XCTUnwrap(t["fewshot-EuroSAT"])
        let coopEntry = try XCTUnwrap(fewShot["CoOp"]?[1])
        XCTAssertEqual(coopEntry["mean"] as? Double ?? -1, mean(coop), accuracy: 1e-9)
        XCTAssertEqual(coopEntry["count"] as? Int, 2)
        let sd = (coop.map { ($0 - mean(coop)) * ($0 - mean(coop)) }.reduce(0, +)).squareRoot()   // n − 1 = 1
        XCTAssertEqual(coopEntry["std"] as? Double ?? -1, sd, accuracy: 1e-9)

        // Baselines: zero-shot, ensembling and the 2-shot linear probe.
        let zero = try accuracy(try runCocoonJSON(["zeroshot"] + task + ["--dataset", "ImageNetA"]))
        let ensemble = try accuracy(try runCocoonJSON(["zeroshot"] + task + ["--dataset", "ImageNetA", "--ensemble"]))
        let baselines = try XCTUnwrap(t["baselines"]?["ImageNetA"])
        XCTAssertEqual(baselines[0]?["mean"] as? Double ?? -1, zero, accuracy: 1e-9)
        XCTAssertEqual(baselines[1]?["mean"] as? Double ?? -1, ensemble, accuracy: 1e-9)
        XCTAssertNil(baselines[2], "a test-only dataset has no linear probe")
        let probes = try [1, 2].map { try accuracy(try runCocoonJSON(["probe"] + task + ["--dataset", "EuroSAT", "--shots", "2", "--seed", "\($0)"])) }
        XCTAssertEqual(t["baselines"]?["EuroSAT"]?[2]?["mean"] as? Double ?? -1, mean(probes), accuracy: 1e-9)
        XCTAssertEqual(t["fewshot-EuroSAT"]?["linear probe"]?[1]?["mean"] as? Double ?? -1, mean(probes), accuracy: 1e-9)

        // Base-to-new: CoCoOp trained on the base classes, scored on base and new; H from the means.
        var base: [Double] = [], new: [Double] = []
        for seed in [1, 2] {
            let prompt = scratch.path("cocoop-\(seed).safetensors")
            let tuned = try runCocoonJSON(["tune", "cocoop"] + task + ["--dataset", "ImageNet", "--shots", "2", "--seeds", "\(seed)",
                                                                        "--classes", "base", "--epochs", "3", "--out", prompt, "--quiet"])
            let outcome = try XCTUnwrap((tuned["runs"] as? [[String: Any]])?.first)
            base.append(try accuracy(outcome))
            new.append(try accuracy(try runCocoonJSON(["eval", prompt] + task + ["--dataset", "ImageNet", "--classes", "new"])))
        }
        let b2n = try XCTUnwrap(t["base-to-new-ImageNet"]?["CoCoOp"])
        XCTAssertEqual(b2n[0]?["mean"] as? Double ?? -1, mean(base), accuracy: 1e-9)
        XCTAssertEqual(b2n[1]?["mean"] as? Double ?? -1, mean(new), accuracy: 1e-9)
        XCTAssertEqual(b2n[2]?["mean"] as? Double ?? -1, 2 * mean(base) * mean(new) / (mean(base) + mean(new)), accuracy: 1e-9)

        // Base-to-new: KgCoOp and ProGrad with their own defaults, as `tune` reports them.
        for (method, label) in [("kgcoop", "KgCoOp"), ("prograd", "ProGrad")] {
            var base: [Double] = [], new: [Double] = []
            for seed in [1, 2] {
                let tuned = try runCocoonJSON(["tune", method] + task + ["--dataset", "ImageNet", "--shots", "2", "--seeds", "\(seed)",
                                                                         "--classes", "base", "--epochs", "3", "--out",
                                                                         scratch.path("\(method)-\(seed).safetensors"), "--quiet"])
                let outcome = try XCTUnwrap((tuned["runs"] as? [[String: Any]])?.first)
                base.append(try accuracy(outcome))
                new.append(try XCTUnwrap((outcome["newClasses"] as? [String: Any])?["accuracy"] as? Double))
            }
            let row = try XCTUnwrap(t["base-to-new-ImageNet"]?[label], label)
            XCTAssertEqual(row[0]?["mean"] as? Double ?? -1, mean(base), accuracy: 1e-9, label)
            XCTAssertEqual(row[1]?["mean"] as? Double ?? -1, mean(new), accuracy: 1e-9, label)
        }

        // Domain generalisation: CoOp M=16 learned on ImageNet (2 shots), scored on ImageNet-Sketch.
        var sketch: [Double] = []
        for seed in [1, 2] {
            let prompt = scratch.path("dg-\(seed).safetensors")
            _ = try runCocoonJSON(["tune", "coop"] + task + ["--dataset", "ImageNet", "--shots", "2", "--seeds", "\(seed)", "--epochs", "3",
                                                              "--out", prompt, "--quiet"])
            sketch.append(try accuracy(try runCocoonJSON(["eval", prompt] + task + ["--dataset", "ImageNetSketch"])))
        }
        let dg = try XCTUnwrap(t["domain-generalisation"]?["CoOp M=16"])   // columns ImageNet, ImageNetSketch, ImageNetA, average
        XCTAssertEqual(dg[1]?["mean"] as? Double ?? -1, mean(sketch), accuracy: 1e-9)

        // The report shows every protocol's tables with their plots.
        let html = try String(contentsOfFile: URL(fileURLWithPath: run.out).appendingPathComponent("report.html").path, encoding: .utf8)
        for fragment in ["<h2>fewshot</h2>", "<h2>base-to-new</h2>", "<h2>domain-generalisation</h2>", "<h2>baselines</h2>", "<svg", "<polyline", "<rect"] {
            XCTAssertTrue(html.contains(fragment), fragment)
        }
    }

    func testRerunRunsNothingAndAChangedSettingIsANewCell() throws {
        let run = try Self.run.get()
        let tablesURL = URL(fileURLWithPath: run.out).appendingPathComponent("tables.json")
        let before = try Data(contentsOf: tablesURL)
        let again = try reproduce(run, [])
        XCTAssertTrue(again.contains(" 0 to run"), again)
        XCTAssertEqual(try Data(contentsOf: tablesURL), before, "aggregation is idempotent")

        let plan = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run.out).appendingPathComponent("plan.json"))) as? [String: Any])
        let cells = try XCTUnwrap(plan["cells"] as? [[String: Any]])
        // The cells that train for epochs (every trained method but the training-free Tip-Adapter) are
        // capped at 3 here; a cap of 4 makes each of them a new cell.
        let trained = cells.filter { (($0["hyperparameters"] as? [String: Any])?["epochs"] as? Int ?? 0) > 0 }.count
        XCTAssertGreaterThan(trained, 0)
        let dry = try reproduce(run, maxEpochs: 4, ["--dry-run"])
        XCTAssertTrue(dry.contains("\(cells.count - trained) done, \(trained) to run"), "only the cells that train for epochs depend on them: \(dry)")
    }

    func testAnInterruptedCellResumesToTheSameTensors() throws {
        let run = try Self.run.get()
        let plan = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run.out).appendingPathComponent("plan.json"))) as? [String: Any])
        let cells = try XCTUnwrap(plan["cells"] as? [[String: Any]])
        // The slowest cell: CoCoOp (batch 1) on ImageNet's base classes, seed 1.
        let task = try XCTUnwrap(cells.firstIndex { $0["method"] as? String == "cocoop" && $0["seed"] as? Int == 1 })
        let done = try XCTUnwrap(FileManager.default.contentsOfDirectory(atPath: run.out + "/cells").first { $0.hasPrefix("cocoop-ImageNet-2shot-seed1-base-") })
        let scratch = try Scratch("reproduce-resume")
        let out = scratch.path("out")
        let arguments = ["reproduce", "fewshot", "base-to-new", "domain-generalisation", "baselines", "--root", run.root, "--model", Paths.demoModel.path,
                         "--store", run.store, "--out", out] + Self.grid() + ["--stage", "tune", "--task", "\(task)", "--threads", "1"]

        let child = Process()
        child.executableURL = Paths.cocoon
        child.arguments = arguments
        child.standardOutput = FileHandle.nullDevice
        try child.run()
        let checkpoint = "\(out)/cells/\(done)/prompt.safetensors"
        while child.isRunning && !FileManager.default.fileExists(atPath: checkpoint) { usleep(500) }
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint), "the first epoch's checkpoint was written")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(out)/cells/\(done)/prompt.json"), "the cell was stopped before it finished")

        _ = try runCocoonOK(arguments)
        XCTAssertEqual(try tensorBytes(checkpoint), try tensorBytes("\(run.out)/cells/\(done)/prompt.safetensors"))
        let score = "scores/ImageNet-new.json"
        XCTAssertEqual(try accuracy(try json("\(out)/cells/\(done)/\(score)")), try accuracy(try json("\(run.out)/cells/\(done)/\(score)")))
    }

    func testIndexingKeepsOnlyTheDrawsTrainImagesWhenAsked() throws {
        let run = try Self.run.get(), scratch = try Scratch("train-items")
        let index = ["index", "--model", Paths.demoModel.path, "--dataset", "EuroSAT", "--root", run.root, "--store", scratch.path("s"), "--splits", "train"]
        let out = try runCocoonOK(index + ["--views", "1", "--views-for", "fewshot:2:1", "--train-items", "fewshot"])
        XCTAssertTrue(out.contains("train: 12 items indexed now (24 images"), "6 classes × 2 shots, view 0 and 1 view each: \(out)")
        let refused = try runCocoon(index + ["--train-items", "fewshot"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("--train-items fewshot needs --views-for fewshot:N:SEEDS"), refused.stderr)
    }

    /// The tensor bytes of a safetensors file (after its header, which also holds the timings).
    private func tensorBytes(_ path: String) throws -> Data {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let header = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        return data.dropFirst(8 + header)
    }

    private func json(_ path: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }
}
