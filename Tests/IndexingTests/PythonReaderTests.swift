import FeatureCache
import Foundation
import Indexing
import TestSupport
import XCTest

/// `tools/cocoon_store.py`, the Python reader of schema-2 stores (lmdb + numpy only), against
/// `cocoon query export` and the Swift scan: the same features bit for bit, the same labels.
/// Runs Debian's `/usr/bin/python3` (python3-lmdb, python3-numpy: `make deps` installs them) and
/// skips only when that interpreter or one of the two modules is missing.
final class PythonReaderTests: XCTestCase {
    private static let python = "/usr/bin/python3"
    private static let reader = Paths.package.appendingPathComponent("tools/cocoon_store.py")

    /// Imports the reader by path, reads view 0 of the test split (raw and L2-normalised) and the
    /// few-shot subset with the recipe's views, and saves them with numpy.
    private static let script = """
    import importlib.util, json, sys
    import numpy as np
    spec = importlib.util.spec_from_file_location("cocoon_store", sys.argv[1])
    cs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cs)
    store_path, model, dataset, recipe, out = sys.argv[2:7]
    with cs.Store(store_path) as store:
        test = store.features(model, dataset, "test", verify=True)
        unit = store.features(model, dataset, "test", normalized=True)
        few = store.features(model, dataset, "train", recipe=recipe, subset="2shot-s1", verify=True)
        np.save(out + "/test-features.npy", test["features"])
        np.save(out + "/test-labels.npy", test["labels"])
        np.save(out + "/test-normalized.npy", unit["features"])
        np.save(out + "/few-features.npy", few["features"])
        np.save(out + "/few-labels.npy", few["labels"])
        json.dump({"few_items": few["items"].tolist(), "subset": store.subset(dataset, "train", "2shot-s1"),
                   "test_paths": test["paths"], "items": [p for p, _ in store.items(dataset, "test")],
                   "classnames": store.classnames(dataset), "recipes": [r["id"] for r in store.recipes()],
                   "dtypes": [str(test["features"].dtype), str(few["features"].dtype)]}, sys.stdout)
    """

    func testReadsTheSameFeaturesAsQueryExport() throws {
        try requirePython()
        let scratch = try Scratch("python-reader")
        let root = scratch.url.appendingPathComponent("toy")
        let counts = try TinyDataset.write(to: root)
        let path = scratch.path("store")
        var settings = tinySettings(root: root, store: path, views: 2)
        settings.viewScope = try ViewScope(parsing: "fewshot:2:1")
        let summary = try runIndexer(settings)
        let recipe = try XCTUnwrap(summary.recipe).description
        let model = Paths.tinyRN.lastPathComponent  // the model name the store records

        // cocoon query export: view 0 of the test split; the few-shot subset with the recipe's views.
        let testExport = scratch.url.appendingPathComponent("export-test")
        let fewExport = scratch.url.appendingPathComponent("export-few")
        for (arguments, out) in [(["--split", "test"], testExport),
                                 (["--split", "train", "--subset", "2shot-s1", "--recipe", recipe], fewExport)] {
            let run = try runCocoon(["query", "export", path, "--model", model, "--dataset", "toy"] + arguments + ["--out", out.path])
            XCTAssertEqual(run.status, 0, run.stderr)
        }

        // The Python reader, through its API.
        let pyOut = scratch.url.appendingPathComponent("python")
        try FileManager.default.createDirectory(at: pyOut, withIntermediateDirectories: true)
        let run = try runProcess(URL(fileURLWithPath: Self.python), ["-c", Self.script, Self.reader.path, path, model, "toy", recipe, pyOut.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        guard run.status == 0 else { return }

        let test = try NPY(testExport.appendingPathComponent("features.npy"))
        XCTAssertEqual(test.shape, "(\(counts.test), 64)")
        XCTAssertEqual(try NPY(pyOut.appendingPathComponent("test-features.npy")), test)
        XCTAssertEqual(try NPY(pyOut.appendingPathComponent("test-labels.npy")), try NPY(testExport.appendingPathComponent("labels.npy")))
        let few = try NPY(fewExport.appendingPathComponent("features.npy"))
        XCTAssertEqual(few.shape, "(6, 3, 64)")  // 2 shots × 3 classes, view 0 + 2 views
        XCTAssertEqual(try NPY(pyOut.appendingPathComponent("few-features.npy")), few)
        XCTAssertEqual(try NPY(pyOut.appendingPathComponent("few-labels.npy")), try NPY(fewExport.appendingPathComponent("labels.npy")))
        XCTAssertEqual(try NPY(fewExport.appendingPathComponent("labels.npy")).descr, "<i8")

        // L2 normalisation: the same float32 arithmetic as the Swift scan, hence the same bits.
        let store = try FeatureStore(path: path)
        let unit = try store.scan(ext: summary.ext, ds: summary.ds, split: .test, normalized: true)
        XCTAssertEqual(try NPY(pyOut.appendingPathComponent("test-normalized.npy")).floats.map(\.bitPattern),
                       unit.values.map(\.bitPattern))

        // Records: subset ids, item paths, class names, recipes.
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let subset = try XCTUnwrap(try store.subset(ds: summary.ds, split: .train, name: "2shot-s1")).map(Int.init)
        XCTAssertEqual(json["subset"] as? [Int], subset)
        XCTAssertEqual(json["few_items"] as? [Int], subset)
        let items = try store.items(ds: summary.ds, split: .test).map(\.relativePath)
        XCTAssertEqual(json["items"] as? [String], items)
        XCTAssertEqual(json["test_paths"] as? [String], items)
        XCTAssertEqual(json["classnames"] as? [String], TinyDataset.classnames)
        XCTAssertEqual(json["recipes"] as? [String], [recipe])
        XCTAssertEqual(json["dtypes"] as? [String], ["float32", "float32"])

        // The reader's CLI writes what `cocoon query export` writes.
        let cliOut = scratch.url.appendingPathComponent("python-cli")
        let cli = try runProcess(URL(fileURLWithPath: Self.python), [Self.reader.path, path, "--model", model, "--dataset", "toy", "--split", "train",
                                               "--subset", "2shot-s1", "--recipe", recipe, "--verify", "--out", cliOut.path])
        XCTAssertEqual(cli.status, 0, cli.stderr)
        XCTAssertTrue(cli.stdout.contains("features.npy [6, 3, 64] float32"), cli.stdout)
        XCTAssertEqual(try NPY(cliOut.appendingPathComponent("features.npy")), few)
        XCTAssertEqual(try NPY(cliOut.appendingPathComponent("labels.npy")), try NPY(fewExport.appendingPathComponent("labels.npy")))
        XCTAssertEqual(try String(contentsOf: cliOut.appendingPathComponent("items.csv"), encoding: .utf8),
                       try String(contentsOf: fewExport.appendingPathComponent("items.csv"), encoding: .utf8))

        // Mixed view counts (the whole train split with the recipe) are a one-line error, as in export.
        let mixed = try runProcess(URL(fileURLWithPath: Self.python), [Self.reader.path, path, "--model", model, "--dataset", "toy", "--split", "train",
                                                 "--recipe", recipe, "--out", scratch.path("mixed")])
        XCTAssertEqual(mixed.status, 1)
        XCTAssertTrue(mixed.stderr.contains("have between 1 and 3 views"), mixed.stderr)
        XCTAssertEqual(mixed.stderr.split(separator: "\n").count, 1, mixed.stderr)
    }

    func testRefusesASchema1Store() throws {
        try requirePython()
        let scratch = try Scratch("python-reader-v1")
        let store = scratch.url.appendingPathComponent("v1")
        try FileManager.default.createDirectory(at: store, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Paths.fixtures.appendingPathComponent("stores/v1/data.mdb"),
                                         to: store.appendingPathComponent("data.mdb"))
        let script = """
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("cocoon_store", sys.argv[1])
        cs = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(cs)
        try:
            cs.Store(sys.argv[2])
        except cs.StoreError as error:
            print(error)
            sys.exit(3)
        """
        let run = try runProcess(URL(fileURLWithPath: Self.python), ["-c", script, Self.reader.path, store.path])
        XCTAssertEqual(run.status, 3, run.stderr)
        let message = run.stdout.trimmingCharacters(in: .newlines)
        XCTAssertTrue(message.hasSuffix("v1: schema version 1, this reader reads version 2; upgrade it in place with `cocoon store upgrade \(message.prefix { $0 != ":" })`"), message)
        XCTAssertTrue(message.hasPrefix(store.resolvingSymlinksInPath().path + ":"), message)
        XCTAssertFalse(message.contains("\n"), message)
        // The CLI prints the same line and exits 1.
        let cli = try runProcess(URL(fileURLWithPath: Self.python), [Self.reader.path, store.path, "--model", "tiny-rn", "--dataset", "tinyshapes",
                                               "--out", scratch.path("out")])
        XCTAssertEqual(cli.status, 1)
        XCTAssertEqual(cli.stderr, "error: \(message)\n")
    }

    // MARK: helpers

    /// Skips (with the reason) when /usr/bin/python3 or its numpy or lmdb module is missing.
    private func requirePython() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else {
            throw XCTSkip("\(Self.python) is missing; install Debian's python3 with python3-numpy and python3-lmdb (`make deps`)")
        }
        let probe = try runProcess(URL(fileURLWithPath: Self.python), ["-c", "import numpy, lmdb"])
        guard probe.status == 0 else {
            let reason = probe.stderr.split(separator: "\n").last.map(String.init) ?? "import failed"
            guard reason.contains("ModuleNotFoundError") || reason.contains("ImportError") else {
                throw ReaderTestError("\(Self.python) -c 'import numpy, lmdb' failed: \(probe.stderr)")
            }
            throw XCTSkip("\(Self.python) cannot import numpy and lmdb (\(reason)); apt-get install python3-numpy python3-lmdb (`make deps`)")
        }
    }

}

private struct ReaderTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A `.npy` file (format 1.0/2.0) split into its header fields and its raw little-endian payload;
/// equal files hold the same dtype, shape and bits.
private struct NPY: Equatable {
    var descr: String
    var shape: String
    var payload: Data

    init(_ url: URL) throws {
        let bytes = try Data(contentsOf: url)
        guard bytes.count >= 10, Array(bytes.prefix(6)) == [0x93] + Array("NUMPY".utf8) else {
            throw ReaderTestError("\(url.path) is not a .npy file")
        }
        let major = bytes[bytes.startIndex + 6]
        let lengthBytes = major == 1 ? 2 : 4
        var length = 0
        for i in 0..<lengthBytes { length |= Int(bytes[bytes.startIndex + 8 + i]) << (8 * i) }
        let start = bytes.startIndex + 8 + lengthBytes
        let header = String(decoding: bytes[start..<(start + length)], as: UTF8.self)
        func field(_ name: String, _ open: Character, _ close: Character) -> String {
            guard let key = header.range(of: "'\(name)': ") else { return "" }
            let rest = header[key.upperBound...]
            guard let first = rest.firstIndex(of: open), let last = rest[rest.index(after: first)...].firstIndex(of: close) else { return "" }
            return String(rest[(open == "'" ? rest.index(after: first) : first)..<(open == "'" ? last : rest.index(after: last))])
        }
        descr = field("descr", "'", "'")
        shape = field("shape", "(", ")")
        payload = Data(bytes[(start + length)...])
        XCTAssertTrue(header.contains("'fortran_order': False"), "\(url.path): \(header)")
    }

    /// The payload as little-endian float32 ('<f4').
    var floats: [Float] {
        payload.withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
    }
}
