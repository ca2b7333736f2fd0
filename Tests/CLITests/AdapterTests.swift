import Foundation
import TestSupport
import XCTest

/// The five few-shot adapters (and the linear probe, a method too) through the built CLI (README "Few-shot adapters"), on the shared
/// world's colored-shapes 1-shot draw: each trains from the cache with its official recipe (crop
/// scale 0.5 for Tip-Adapter, Tip-Adapter-F and LP++, Dassl's 0.08 for CLIP-Adapter and TaskRes)
/// and selects on validation data; `eval` of its checkpoint gives the run's own test accuracy bit
/// for bit; `cocoon classifier` exports it and the README's NumPy lines for its kind classify the
/// `query export` features as `eval` does; what cannot work is refused in one line.
final class AdapterTests: XCTestCase {
    /// The README's NumPy lines per exported kind beyond `text` (whose lines are
    /// `ClassifierExportTests.numpyLines`), verbatim; they run in a folder holding `clf/` and `exp/`.
    static let numpyLines: [String: String] = [
        "linear": """
            import numpy as np
            W = np.load("clf/weights.npy"); b = np.load("clf/bias.npy")
            X = np.load("exp/features.npy"); X = X / np.linalg.norm(X, axis=1, keepdims=True)
            pred = (X @ W.T + b).argmax(1)
            print((pred == np.load("exp/labels.npy")).mean() * 100)
            """,
        "tip-adapter": """
            import json, numpy as np
            W, K, L = (np.load(f"clf/{n}.npy") for n in ("weights", "cache_keys", "cache_values"))
            meta = json.load(open("clf/classifier.json"))
            X = np.load("exp/features.npy"); X = X / np.linalg.norm(X, axis=1, keepdims=True)
            logits = 100 * X @ W.T + meta["alpha"] * np.exp(-meta["beta"] * (1 - X @ K.T)) @ L
            print((logits.argmax(1) == np.load("exp/labels.npy")).mean() * 100)
            """,
        "clip-adapter": """
            import json, numpy as np
            W, W1, W2 = (np.load(f"clf/{n}.npy") for n in ("weights", "fc1", "fc2"))
            meta = json.load(open("clf/classifier.json")); r = meta["ratio"]
            X = np.load("exp/features.npy"); X = X / np.linalg.norm(X, axis=1, keepdims=True)
            A = np.maximum(np.maximum(X @ W1.T, 0) @ W2.T, 0)
            F = r * A + (1 - r) * X; F = F / np.linalg.norm(F, axis=1, keepdims=True)
            print(((meta["logit_scale"] * F @ W.T).argmax(1) == np.load("exp/labels.npy")).mean() * 100)
            """,
        "text": ClassifierExportTests.numpyLines,
    ]

    private func accuracy(_ result: [String: Any]) -> Double {
        ((result["result"] ?? result["test"]) as? [String: Any])?["accuracy"] as? Double ?? -1
    }

    /// The README lines of `kind` run by /usr/bin/python3 in `folder`; the accuracy they print.
    private func numpyAccuracy(_ kind: String, in folder: URL, file: StaticString = #filePath, line: UInt = #line) throws -> Double {
        let lines = try XCTUnwrap(Self.numpyLines[kind], "no NumPy lines for kind \(kind)", file: file, line: line)
        let run = try runProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", "cd \"$1\" && exec /usr/bin/python3 -c \"$0\"", lines, folder.path])
        XCTAssertEqual(run.status, 0, run.stderr, file: file, line: line)
        return try XCTUnwrap(Double(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "python printed '\(run.stdout)'", file: file, line: line)
    }

    func testTheFewShotAdaptersTrainEvaluateAndExport() throws {
        let numpy = try runProcess(URL(fileURLWithPath: "/usr/bin/python3"), ["-c", "import numpy"]).status == 0
        let readme = try String(contentsOf: Paths.package.appendingPathComponent("README.md"), encoding: .utf8)
        for (kind, lines) in Self.numpyLines { XCTAssertTrue(readme.contains(lines), "README shows the NumPy lines of kind \(kind)") }

        let world = try SyntheticWorld.shared(), scratch = try Scratch("adapters")
        let task = world.task + ["--dataset", "colored-shapes", "--shots", "1"]
        // Before the adapters' recipe is indexed: refused with the fix.
        try assertCocoonRefuses(["tune", "tip-adapter"] + task, "--crop-scale 0.5")
        try world.index("split-json", world.data.appendingPathComponent("colored-shapes"),
                        ["--views", "10", "--crop-scale", "0.5", "--views-for", "fewshot:1:1"])
        let export = scratch.url.appendingPathComponent("exp")
        try runCocoonOK(["query", "export", world.store, "--model", world.model, "--dataset", "colored-shapes", "--split", "test",
                         "--out", export.path])
        let zeroShot = accuracy(try runCocoonJSON(["zeroshot"] + world.task + ["--dataset", "colored-shapes"]))

        let expected: [(method: String, kind: String, cropScale: String, selection: String?)] = [
            ("tip-adapter", "tip-adapter", "0.5", "val"), ("tip-adapter-f", "tip-adapter", "0.5", "val"),
            ("lp++", "linear", "0.5", "val"), ("clip-adapter", "clip-adapter", "0.08", nil), ("taskres", "text", "0.08", nil),
            ("linear-probe", "linear", "0.08", nil),
        ]
        var accuracies: [String: Double] = [:]
        for (method, kind, cropScale, selection) in expected {
            let checkpoint = scratch.path("\(method).safetensors")
            let outcome = try tuneOutcome([method] + task + ["--out", checkpoint])
            let views = try XCTUnwrap(outcome["trainingViews"] as? [String: Any])
            XCTAssertEqual(views["policy"] as? String, "rrc(\(cropScale)-1,3/4-4/3)+hflip", "\(method) reads its official recipe")
            let picked = outcome["selection"] as? [String: Any]
            XCTAssertEqual((picked?["source"] as? [String: Any])?["split"] as? String, selection, "\(method) selects on \(selection ?? "nothing")")
            if method == "lp++" { XCTAssertEqual((picked?["source"] as? [String: Any])?["perClass"] as? Int, 1, "LP++: shots per class of val") }
            accuracies[method] = accuracy(outcome)
            if selection == "val" && method != "lp++" {     // α, β searched on the whole val split: the pick's val accuracy
                let onVal = accuracy(try runCocoonJSON(["eval", checkpoint] + world.task + ["--dataset", "colored-shapes", "--split", "val"]))
                XCTAssertEqual(picked?["accuracy"] as? Double, onVal, "\(method): the search's accuracy is the checkpoint's on val")
                let values = try XCTUnwrap(picked?["picked"] as? [String: Double])
                XCTAssertTrue((0.1..<7).contains(values["beta"] ?? -1) && (0.1..<3).contains(values["alpha"] ?? -1), "\(values) on the grid")
            }

            // The checkpoint read back scores the test split exactly as the run did.
            XCTAssertEqual(accuracy(try runCocoonJSON(["eval", checkpoint] + world.task + ["--dataset", "colored-shapes"])), accuracies[method],
                           "\(method): eval of the checkpoint")
            let folder = scratch.url.appendingPathComponent("np-\(method)")
            try runCocoonOK(["classifier", "--model", world.model, "--prompt", checkpoint, "--out", folder.appendingPathComponent("clf").path])
            let meta = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("clf/classifier.json"))) as? [String: Any])
            XCTAssertEqual(meta["kind"] as? String, kind)
            guard numpy else { continue }
            try FileManager.default.copyItem(at: export, to: folder.appendingPathComponent("exp"))
            let fromNumpy = try numpyAccuracy(kind, in: folder)
            print(String(format: "%@: test %.2f%% (zero-shot %.2f%%), NumPy on the export %.2f%%", method, accuracies[method]!, zeroShot, fromNumpy))
            XCTAssertEqual(fromNumpy, accuracies[method]!, accuracy: 0.2, "\(method): the README's NumPy lines classify as eval")
        }

        // The linear probe through the method interface scores as `cocoon probe` does.
        let probe = try runCocoonJSON(["probe"] + task)
        XCTAssertEqual(accuracies["linear-probe"], accuracy(probe), "tune linear-probe vs probe")

        // Resuming a finished run changes nothing; --select-on-test is labelled as such.
        let tip = scratch.path("tip-adapter.safetensors")
        XCTAssertEqual(accuracy(try tuneOutcome(["tip-adapter"] + task + ["--out", tip, "--resume"])), accuracies["tip-adapter"])
        let onTest = try tuneOutcome(["tip-adapter"] + task + ["--select-on-test", "--out", scratch.path("tip-test.safetensors")])
        XCTAssertEqual(((onTest["selection"] as? [String: Any])?["source"] as? [String: Any])?["split"] as? String, "test")

        // Per-class state does not carry to other classes: refused in one line.
        try assertCocoonRefuses(["tune", "taskres"] + task + ["--classes", "base"], "TaskRes learns per-class state that does not carry to unseen classes")
        try assertCocoonRefuses(["eval", tip] + world.task + ["--dataset", "shapes"], "classifies only the 32 classes it was trained on")
    }
}
