import CLIP
import Datasets
import FeatureCache
import Foundation
import Indexing
import Kernels
import TestSupport
import XCTest

/// `cocoon embed` and the cache queries. Text needs a tokenizer whose ids fit the tiny towers'
/// 1,000-row embedding table, so these tests assemble a model directory from tiny-vit's weights
/// and the 529-id custom vocabulary (`Tests/Fixtures/tokenizer/custom_vocab`). That vocabulary's
/// EOT id (1) is not its largest, so the towers pool at the largest id instead of EOT: the text
/// features are not CLIP-meaningful, but the same code path gives the same numbers, which is what
/// these tests compare.
final class EmbedQueryTests: XCTestCase {
    private func textModel(in scratch: Scratch) throws -> URL {
        let dir = scratch.url.appendingPathComponent("tiny-vit-text")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (source, name) in [(Paths.tinyViT, "model.safetensors"), (Paths.tinyViT, "open_clip_config.json"),
                               (Paths.customVocabulary, "vocab.json"), (Paths.customVocabulary, "merges.txt")] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        return dir
    }

    private struct EmbedOutput: Decodable {
        struct Row: Decodable { let input: String; let vector: [Float] }
        let embeddings: [Row]
    }

    func testEmbedJSONMatchesTheEncoders() throws {
        let scratch = try Scratch("embed")
        let modelDir = try textModel(in: scratch)
        let root = scratch.url.appendingPathComponent("toy")
        try TinyDataset.write(to: root, trainPerClass: 1)
        let images = ["img/train_red_circle_0.png", "img/test_green_star_1.png"].map { root.appendingPathComponent($0).path }
        let texts = ["a photo of the cat", "hello \"quoted\" photo"]
        var arguments = ["embed", "--model", modelDir.path, "--json"]
        for t in texts { arguments += ["--text", t] }
        for i in images { arguments += ["--image", i] }
        for raw in [false, true] {
            let run = try runCocoon(arguments + (raw ? ["--raw"] : []))
            XCTAssertEqual(run.status, 0, run.stderr)
            XCTAssertTrue(run.stdout.hasPrefix("{\"embeddings\": [{\"input\": \"a photo of the cat\", \"vector\": ["), run.stdout)
            let output = try JSONDecoder().decode(EmbedOutput.self, from: Data(run.stdout.utf8))
            XCTAssertEqual(output.embeddings.map(\.input), texts + images)

            let model = try CLIPModel(directory: modelDir)
            let D = model.architecture.embedDim
            let text = model.text.encode(tokens: try model.tokenize(texts))
            var expected: [[Float]] = (0..<2).map { Array(text.toArray()[($0 * D)..<(($0 + 1) * D)]) }
            for path in images {
                expected.append(try referenceFeatures(model, file: URL(fileURLWithPath: path), key: path, views: 1, batch: 1))
            }
            var maxDiff: Float = 0
            for (row, reference) in zip(output.embeddings, expected) {
                XCTAssertEqual(row.vector.count, D)
                let norm = reference.reduce(0) { $0 + $1 * $1 }.squareRoot()
                for (got, want) in zip(row.vector, reference) { maxDiff = max(maxDiff, abs(got - (raw ? want : want / norm))) }
                if !raw { XCTAssertEqual(row.vector.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5) }
            }
            XCTAssertLessThan(maxDiff, raw ? 1e-4 : 1e-6, "raw \(raw)")
        }
        // Errors: one line, non-zero exit.
        let missing = try runCocoon(["embed", "--model", modelDir.path, "--image", root.path + "/img/nothing.png"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("img/nothing.png: cannot read the file"), missing.stderr)
        let noTokenizer = try runCocoon(["embed", "--model", Paths.tinyRN.path, "--text", "a cat"])
        XCTAssertNotEqual(noTokenizer.status, 0)
        XCTAssertTrue(noTokenizer.stderr.contains("no tokenizer"), noTokenizer.stderr)
    }

    func testZeroShotSearchAndExportFromTheCache() throws {
        let scratch = try Scratch("query")
        let modelDir = try textModel(in: scratch)
        let root = scratch.url.appendingPathComponent("toy")
        let counts = try TinyDataset.write(to: root)
        let path = scratch.path("store")
        var settings = tinySettings(model: modelDir, root: root, store: path, views: 2)
        settings.viewScope = try ViewScope(parsing: "fewshot:2:1")
        let summary = try runIndexer(settings)
        let store = try FeatureStore(path: path)
        let model = try CLIPModel(directory: modelDir, loadImageTower: false)

        // Zero-shot (`cocoon zeroshot`, the one zero-shot): its accuracy equals per-item dot products
        // and argmax over the cached view-0 features, in percent.
        let features = try CacheQueries.evalFeatures(store: store, ext: summary.ext, ds: summary.ds, split: .test)
        XCTAssertEqual(features.count, counts.test)
        let prompts = TinyDataset.classnames.map { PromptTemplates.prompt("a photo of a {}.", classname: $0) }
        XCTAssertEqual(prompts[0], "a photo of a red circle.")
        let text = try model.textFeatures(prompts)
        var correct = 0, nearTies = 0
        var scores: [[Float]] = []
        for i in 0..<features.count {
            let row = (0..<3).map { k in (0..<64).reduce(Float(0)) { $0 + features.values[i * 64 + $1] * text[k * 64 + $1] } }
            scores.append(row)
            let sorted = row.sorted(by: >)
            // The GEMM and this loop sum in different orders (the order depends on the BLAS kernel
            // family), so only a near-tie may pick another class.
            if sorted[0] - sorted[1] < 1e-5 * max(1, abs(sorted[0])) { nearTies += 1 }
            if row.indices.max(by: { row[$0] < row[$1] })! == Int(features.labels[i]) { correct += 1 }
        }
        let cli = try runCocoon(["zeroshot", "--store", path, "--model", modelDir.path, "--dataset", "toy",
                                 "--template", "a photo of a {}.", "--json"])
        XCTAssertEqual(cli.status, 0, cli.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(cli.stdout.utf8)) as! [String: Any]
        let result = try XCTUnwrap(json["result"] as? [String: Any])
        XCTAssertEqual(result["count"] as? Int, counts.test)
        let cliCorrect = (result["accuracy"] as! Double) * Double(counts.test) / 100
        XCTAssertLessThanOrEqual(abs(cliCorrect - Double(correct)), Double(nearTies) + 1e-9, "percent of \(counts.test): \(result)")

        // Search: the top 3 are the 3 highest cosines, best first.
        let query = try model.textFeatures(["photo of the cat"])
        let hits = CacheQueries.search(features, query: query.data, top: 3)
        let cosines = (0..<features.count).map { i in (0..<64).reduce(Float(0)) { $0 + features.values[i * 64 + $1] * query[$1] } }
        let order = cosines.indices.sorted { cosines[$0] > cosines[$1] }
        XCTAssertEqual(hits.map(\.row), Array(order.prefix(3)))
        for hit in hits { XCTAssertEqual(hit.score, cosines[hit.row], accuracy: 1e-5) }
        let search = try runCocoon(["query", "search", path, "--model", modelDir.path, "--dataset", "toy", "--text", "photo of the cat", "--top", "3", "--json"])
        XCTAssertEqual(search.status, 0, search.stderr)
        let results = (try JSONSerialization.jsonObject(with: Data(search.stdout.utf8)) as! [String: Any])["results"] as! [[String: Any]]
        XCTAssertEqual(results.map { $0["item"] as! Int }, order.prefix(3).map { Int(features.items[$0]) })

        // Export of the few-shot subset (all 3 views) through the CLI, read back byte by byte.
        let out = scratch.url.appendingPathComponent("export")
        let export = try runCocoon(["query", "export", path, "--model", "tiny-vit-text", "--dataset", "toy", "--split", "train",
                                    "--subset", "2shot-s1", "--recipe", summary.recipe!.description, "--out", out.path, "--format", "npy"])
        XCTAssertEqual(export.status, 0, export.stderr)
        let subset = try store.subset(ds: summary.ds, split: .train, name: "2shot-s1")!
        let scan = try store.scan(ext: summary.ext, ds: summary.ds, split: .train, items: subset, recipe: summary.recipe)
        let npy = try Data(contentsOf: out.appendingPathComponent("features.npy"))
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (6, 3, 64), }"
        XCTAssertEqual(Array(npy.prefix(8)), [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let headerLength = Int(npy[8]) | Int(npy[9]) << 8
        XCTAssertEqual((10 + headerLength) % 64, 0)
        let dict = String(decoding: npy[10..<(10 + headerLength)], as: UTF8.self)
        XCTAssertTrue(dict.hasPrefix(header) && dict.hasSuffix(" \n"), dict)
        let values = npy[(10 + headerLength)...].withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
        XCTAssertEqual(values, scan.values)
        let labels = try Data(contentsOf: out.appendingPathComponent("labels.npy"))
        let labelHeader = Int(labels[8]) | Int(labels[9]) << 8
        XCTAssertTrue(String(decoding: labels[10..<(10 + labelHeader)], as: UTF8.self).hasPrefix("{'descr': '<i8', 'fortran_order': False, 'shape': (6,), }"))
        let labelValues = labels[(10 + labelHeader)...].withUnsafeBytes { raw in
            (0..<(raw.count / 8)).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) }
        }
        let dataset = try DatasetCatalog.load(name: "split-json", root: root)
        XCTAssertEqual(labelValues, subset.map { Int64(dataset.train[Int($0)].label) })
        let csv = try String(contentsOf: out.appendingPathComponent("items.csv"), encoding: .utf8)
        XCTAssertEqual(csv, "path,label,classname\n" + subset.map { i -> String in
            let item = dataset.train[Int(i)]
            return "\(item.path),\(item.label),\(item.classname)\n"
        }.joined())
        // The whole train split mixes 1 and 3 views per item: a clear refusal, then view 0 only.
        assertOneLineError("have between 1 and 3 views") {
            try CacheExport.export(store: store, ext: summary.ext, ds: summary.ds, dataset: summary.dataset, split: .train,
                                   recipe: summary.recipe, to: scratch.url.appendingPathComponent("mixed"))
        }
        let view0 = try CacheExport.export(store: store, ext: summary.ext, ds: summary.ds, dataset: summary.dataset, split: .train,
                                           view: 0, to: scratch.url.appendingPathComponent("view0"))
        XCTAssertEqual(view0.featureShape, [counts.train, 64])

        // query get / stats through the CLI.
        let get = try runCocoon(["query", "get", path, "--model", "tiny-vit-text", "--dataset", "toy", "--split", "test", "--item", "2", "--json"])
        XCTAssertEqual(get.status, 0, get.stderr)
        let got = try JSONSerialization.jsonObject(with: Data(get.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(got["path"] as? String, dataset.test[2].path)
        let stored = try store.feature(ext: summary.ext, ds: summary.ds, split: .test, item: 2)!
        XCTAssertEqual((got["vector"] as! [Double]).map { Float($0) }, stored.values)
        let stats = try runCocoon(["query", "stats", path, "--json"])
        XCTAssertEqual(stats.status, 0, stats.stderr)
        let groups = (try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as! [String: Any])["groups"] as! [[String: Any]]
        XCTAssertEqual(groups.map { $0["features"] as! Int }, [counts.train + 2 * 6, counts.val, counts.test])
        let absent = try runCocoon(["query", "get", path, "--model", "nope", "--dataset", "toy", "--split", "test", "--item", "0"])
        XCTAssertNotEqual(absent.status, 0)
        XCTAssertTrue(absent.stderr.contains("no features of model 'nope'; stored models: tiny-vit-text"), absent.stderr)
    }
}
