import Foundation
import TestSupport
import XCTest

/// `cocoon classifier` (README "Using a learned classifier outside cocoon"): a CoOp prompt's and
/// zero-shot's class matrix, exported and applied with the README's NumPy lines to the features of
/// `cocoon query export`, classifies the test split as `cocoon eval` and `cocoon zeroshot` do; the
/// safetensors copy holds the same bits; a CoCoOp prompt is refused in one line.
final class ClassifierExportTests: XCTestCase {
    /// The NumPy lines README shows, verbatim; they run in a folder holding `clf/` (written by
    /// `cocoon classifier --out clf`) and `exp/` (written by `cocoon query export … --out exp`).
    static let numpyLines = """
        import json, numpy as np
        W = np.load("clf/weights.npy"); meta = json.load(open("clf/classifier.json"))
        X = np.load("exp/features.npy"); X = X / np.linalg.norm(X, axis=1, keepdims=True)
        logits = meta["logit_scale"] * X @ W.T
        pred = logits.argmax(1)
        print((pred == np.load("exp/labels.npy")).mean() * 100)
        """

    private let python = URL(fileURLWithPath: "/usr/bin/python3")

    private func accuracy(_ output: [String: Any]) -> Double {
        (output["result"] as? [String: Any])?["accuracy"] as? Double ?? -1
    }

    /// The README lines run by /usr/bin/python3 in `folder`; the accuracy they print.
    private func numpyAccuracy(in folder: URL, file: StaticString = #filePath, line: UInt = #line) throws -> Double {
        let run = try runProcess(URL(fileURLWithPath: "/bin/sh"),
                                 ["-c", "cd \"$1\" && exec /usr/bin/python3 -c \"$0\"", Self.numpyLines, folder.path])
        XCTAssertEqual(run.status, 0, run.stderr, file: file, line: line)
        return try XCTUnwrap(Double(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "python printed '\(run.stdout)'", file: file, line: line)
    }

    /// The data bytes of an .npy file (after its header).
    private func npyData(_ url: URL) throws -> Data {
        let bytes = try Data(contentsOf: url)
        XCTAssertEqual(Array(bytes.prefix(8)), [0x93] + Array("NUMPY".utf8) + [1, 0])
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        return bytes.subdata(in: (10 + headerLength)..<bytes.count)
    }

    /// classifier.safetensors: the header (8-byte little-endian length, JSON) and the data section.
    private func safetensors(_ url: URL) throws -> (header: [String: Any], data: Data) {
        let bytes = try Data(contentsOf: url)
        let length = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + length))) as? [String: Any])
        return (header, bytes.subdata(in: (8 + length)..<bytes.count))
    }

    /// The safetensors copy holds weights.npy's bits and classifier.json's fields; rows are unit.
    private func checkFiles(_ directory: URL, classes: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let meta = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("classifier.json"))) as? [String: Any])
        XCTAssertEqual(meta["format_version"] as? Int, 1, file: file, line: line)
        let shape = try XCTUnwrap(meta["shape"] as? [Int], file: file, line: line)
        XCTAssertEqual(shape.first, classes, file: file, line: line)
        XCTAssertEqual((meta["classnames"] as? [String])?.count, classes, file: file, line: line)
        XCTAssertEqual((meta["model_fingerprint"] as? String)?.count, 64, file: file, line: line)

        let npy = try npyData(directory.appendingPathComponent("weights.npy"))
        XCTAssertEqual(npy.count, shape[0] * shape[1] * 4, file: file, line: line)
        let (header, data) = try safetensors(directory.appendingPathComponent("classifier.safetensors"))
        let weights = try XCTUnwrap(header["weights"] as? [String: Any], "\(header)", file: file, line: line)
        XCTAssertEqual(weights["dtype"] as? String, "F32", file: file, line: line)
        XCTAssertEqual(weights["shape"] as? [Int], shape, file: file, line: line)
        let offsets = try XCTUnwrap(weights["data_offsets"] as? [Int], file: file, line: line)
        XCTAssertEqual(data.subdata(in: offsets[0]..<offsets[1]), npy, "safetensors weights equal weights.npy bit for bit", file: file, line: line)

        let metadata = try XCTUnwrap(header["__metadata__"] as? [String: String], file: file, line: line)
        XCTAssertEqual(metadata["model_fingerprint"], meta["model_fingerprint"] as? String, file: file, line: line)
        XCTAssertEqual(metadata["source"], meta["source"] as? String, file: file, line: line)
        XCTAssertEqual(metadata["format_version"], "1", file: file, line: line)
        XCTAssertEqual(metadata["logit_scale"].flatMap(Double.init), meta["logit_scale"] as? Double, file: file, line: line)
        let names = try JSONSerialization.jsonObject(with: Data((metadata["classnames"] ?? "").utf8)) as? [String]
        XCTAssertEqual(names, meta["classnames"] as? [String], file: file, line: line)
        let metaShape = try JSONSerialization.jsonObject(with: Data((metadata["shape"] ?? "").utf8)) as? [Int]
        XCTAssertEqual(metaShape, shape, file: file, line: line)

        let floats = npy.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        for k in 0..<shape[0] {
            let norm = floats[(k * shape[1])..<((k + 1) * shape[1])].reduce(0) { $0 + $1 * $1 }.squareRoot()
            XCTAssertEqual(norm, 1, accuracy: 1e-4, "row \(k) is a unit vector", file: file, line: line)
        }
    }

    func testExportedClassifiersClassifyLikeEvalAndZeroShot() throws {
        let check = try runProcess(python, ["-c", "import numpy"])
        guard check.status == 0 else { throw XCTSkip("/usr/bin/python3 cannot import numpy (apt-get install python3-numpy)") }
        let readme = try String(contentsOf: Paths.package.appendingPathComponent("README.md"), encoding: .utf8)
        XCTAssertTrue(readme.contains(Self.numpyLines), "README shows exactly the NumPy lines this test runs")

        let world = try SyntheticWorld.shared(), scratch = try Scratch("classifier")
        let model = world.model, store = world.store
        let task = ["--store", store, "--model", model, "--dataset", "colored-shapes"]
        let prompt = scratch.path("coop.safetensors")
        _ = try runCocoonJSON(["tune", "coop"] + task + ["--shots", "1", "--out", prompt])

        // CoOp: the prompt's class matrix and the test split's raw features, in one folder.
        let coop = scratch.url.appendingPathComponent("coop")
        try runCocoonOK(["classifier", "--model", model, "--prompt", prompt, "--out", coop.appendingPathComponent("clf").path])
        try runCocoonOK(["query", "export", store, "--model", model, "--dataset", "colored-shapes", "--split", "test",
                "--out", coop.appendingPathComponent("exp").path])
        let eval = accuracy(try runCocoonJSON(["eval", prompt] + task))
        let coopNumpy = try numpyAccuracy(in: coop)
        print(String(format: "classifier export, CoOp: numpy %.4f%%, cocoon eval %.4f%%, difference %.4f points", coopNumpy, eval, coopNumpy - eval))
        XCTAssertEqual(coopNumpy, eval, accuracy: 0.2)
        XCTAssertGreaterThan(eval, 100.0 / 32 * 3, "well above chance on 32 classes")
        try checkFiles(coop.appendingPathComponent("clf"), classes: 32)

        // Zero-shot: the dataset's hand-crafted prompt, against `cocoon zeroshot`.
        let zero = scratch.url.appendingPathComponent("zeroshot")
        try FileManager.default.createDirectory(at: zero, withIntermediateDirectories: true)
        try runCocoonOK(["classifier", "--model", model, "--dataset", "colored-shapes", "--store", store, "--out", zero.appendingPathComponent("clf").path])
        try FileManager.default.copyItem(at: coop.appendingPathComponent("exp"), to: zero.appendingPathComponent("exp"))
        let zeroShot = accuracy(try runCocoonJSON(["zeroshot"] + task))
        let zeroNumpy = try numpyAccuracy(in: zero)
        print(String(format: "classifier export, zero-shot: numpy %.4f%%, cocoon zeroshot %.4f%%, difference %.4f points", zeroNumpy, zeroShot, zeroNumpy - zeroShot))
        XCTAssertEqual(zeroNumpy, zeroShot, accuracy: 0.2)
        try checkFiles(zero.appendingPathComponent("clf"), classes: 32)

        // CoCoOp: no fixed class matrix, refused in one line, nothing written.
        let cocoop = scratch.path("cocoop.safetensors")
        _ = try runCocoonJSON(["tune", "cocoop"] + task + ["--shots", "1", "--epochs", "1", "--out", cocoop])
        let refusedOut = scratch.path("cocoop-clf")
        let run = try runCocoon(["classifier", "--model", model, "--prompt", cocoop, "--out", refusedOut])
        XCTAssertNotEqual(run.status, 0)
        let lines = run.stderr.split(separator: "\n").filter { !$0.hasPrefix("note: ") }
        XCTAssertEqual(lines.count, 1, run.stderr)
        XCTAssertTrue(run.stderr.contains("\(cocoop): a CoCoOp prompt conditions its text on each image (Meta-Net), so it has no fixed class matrix; classify with `cocoon predict`"), run.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: refusedOut))
    }
}
