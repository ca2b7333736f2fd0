import CLIP
import DatasetNames
import Datasets
import FeatureCache
import Formats
import Foundation
import Imaging
import Indexing
import Kernels
import TestSupport
import XCTest

/// A tiny split-JSON dataset: 3 classes, `trainPerClass` train items per class, `valPerClass` val
/// items per class (0: no "val" key, a dataset without val) and two test items per class; PNGs of
/// assorted sizes with a per-item pattern.
enum TinyDataset {
    static let classnames = ["red_circle", "blue_square", "green_star"]

    @discardableResult
    static func write(to root: URL, trainPerClass: Int = 4, valPerClass: Int = 1) throws -> (train: Int, val: Int, test: Int) {
        try FileManager.default.createDirectory(at: root.appendingPathComponent("img"), withIntermediateDirectories: true)
        var splits: [String: [[Any]]] = ["train": [], "test": []]
        if valPerClass > 0 { splits["val"] = [] }
        var n = 0
        for (label, name) in classnames.enumerated() {
            for (split, count) in [("train", trainPerClass), ("val", valPerClass), ("test", 2)] {
                for i in 0..<count {
                    let path = "img/\(split)_\(name)_\(i).png"
                    try ImageFileEncoder.write(image(index: n, label: label), to: root.appendingPathComponent(path))
                    splits[split]!.append([path, label, name])
                    n += 1
                }
            }
        }
        let data = try JSONSerialization.data(withJSONObject: splits, options: [.sortedKeys])
        try data.write(to: root.appendingPathComponent("split.json"))
        return (classnames.count * trainPerClass, classnames.count * valPerClass, 2 * classnames.count)
    }

    /// A w×h image (sizes 40…91 × 30…71): a class colour, a gradient and an item-dependent stripe.
    static func image(index: Int, label: Int) -> RGBImage {
        let w = 40 + (index * 13) % 52, h = 30 + (index * 7) % 42
        var pixels = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                let o = (y * w + x) * 3
                let stripe = ((x + index * 3) / 5 + y / 7) % 2 == 0 ? 60 : 0
                pixels[o + label] = UInt8(min(255, 150 + stripe + x))
                pixels[o + (label + 1) % 3] = UInt8((x * 255 / w + index * 11) % 256)
                pixels[o + (label + 2) % 3] = UInt8((y * 255 / h) % 256)
            }
        }
        return RGBImage(width: w, height: h, pixels: pixels)
    }
}

/// Runs the indexer in-process without a progress bar.
@discardableResult
func runIndexer(_ settings: IndexSettings) throws -> IndexSummary {
    try Indexer(settings: settings, showsProgress: false).run()
}

/// Settings for indexing `root` (a TinyDataset) with `model` into `store`, small batches and commits.
func tinySettings(model: URL = Paths.tinyRN, root: URL, store: String, views: Int = 0) -> IndexSettings {
    var s = IndexSettings(modelDirectory: model, datasetName: "split-json", dataRoot: root, storePath: store)
    s.augmentedViews = views
    s.batch = 4
    s.commitEvery = 3
    return s
}

/// Everything a store holds that an index run determines, for record-for-record comparison:
/// extractors, datasets, items, subsets, and per group every feature (item, view, label, values,
/// stored norm) and failure (item, error text). Job records (host, pid, time) are left out.
struct StoreDump: Equatable {
    var extractors: [String] = []
    var datasets: [String] = []
    var lines: [String] = []
    var features: [String: [Float]] = [:]

    init(path: String) throws {
        let store = try FeatureStore(path: path)
        let extractors = try store.extractors()
        self.extractors = extractors.map { "\($0.id) \($0.record)" }
        let datasets = try store.datasets()
        self.datasets = datasets.map { "\($0.id) \($0.record.name) \($0.record.classnames) \($0.record.splitCounts.sorted { $0.key < $1.key }) \($0.record.manifestSHA256)" }
        for (ds, _) in datasets {
            for split in Split.allCases {
                for (i, item) in try store.items(ds: ds, split: split).enumerated() {
                    lines.append("item \(ds) \(split) \(i) \(item.relativePath) \(item.label) \(item.fileSize) \(item.sha256.map { $0.map { String($0) }.joined() } ?? "-")")
                }
                for name in try store.subsetNames(ds: ds, split: split) {
                    lines.append("subset \(ds) \(split) \(name) \(try store.subset(ds: ds, split: split, name: name)!)")
                }
                let recipes: [RecipeID?] = [nil] + (try store.recipes().map(\.id))
                for (ext, _) in extractors {
                  for recipe in recipes {
                    let scan = try store.scan(ext: ext, ds: ds, split: split, recipe: recipe)
                    for r in 0..<scan.rows where recipe == nil || scan.views[r] > 0 {
                        let view = scan.views[r] == 0 ? ViewKey.eval : ViewKey(recipe: recipe!, view: scan.views[r])
                        let f = try store.feature(ext: ext, ds: ds, split: split, item: scan.items[r], view: view)!
                        let key = "\(ext) \(ds) \(split) \(scan.items[r]) \(recipe?.description ?? "-") \(scan.views[r])"
                        lines.append("feat \(key) label \(scan.labels[r]) norm \(f.norm.bitPattern) \(f.dtype)")
                        features[key] = Array(scan.values[(r * scan.dim)..<((r + 1) * scan.dim)])
                    }
                  }
                    for failure in try store.failures(ext: ext, ds: ds, split: split) {
                        lines.append("failure \(ext) \(ds) \(split) \(failure.item) \(failure.error)")
                    }
                }
            }
        }
    }

    var featureCount: Int { features.count }
}

/// Asserts two dumps are equal, naming the first difference instead of printing both.
func assertSameStore(_ a: StoreDump, _ b: StoreDump, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.extractors, b.extractors, file: file, line: line)
    XCTAssertEqual(a.datasets, b.datasets, file: file, line: line)
    XCTAssertEqual(a.lines.count, b.lines.count, "record counts", file: file, line: line)
    if let i = a.lines.indices.first(where: { $0 < b.lines.count && a.lines[$0] != b.lines[$0] }) {
        XCTFail("first differing record: '\(a.lines[i])' vs '\(b.lines[i])'", file: file, line: line)
    }
    XCTAssertEqual(Set(a.features.keys), Set(b.features.keys), "feature keys", file: file, line: line)
    let differing = a.features.keys.filter { a.features[$0] != b.features[$0] }.sorted()
    XCTAssertTrue(differing.isEmpty, "features differ at \(differing.prefix(3))", file: file, line: line)
}

/// Features of `views` of one image through `Preprocess.view` (augmented views with crop scale
/// (`cropScale`, 1)) and the encoder, in one batch of `batch` images (zero images after the views,
/// as the indexer pads): [views, D].
func referenceFeatures(_ model: CLIPModel, file: URL, key: String, views: Int, seed: UInt64 = 1, batch: Int = 4,
                       cropScale: Double = 0.08) throws -> [Float] {
    let encoder = model.image!
    let R = encoder.imageSize, plane = 3 * R * R, D = encoder.embedDim
    let image = try ImageDecoder.decode(file: file)
    let pixels = Tensor(shape: [max(batch, views), 3, R, R])
    let normalization = try ExtractorDescription.normalization(model.directory.preprocess)
    for v in 0..<views {
        Preprocess.view(image, view: v, seed: seed, itemKey: key, size: R, normalization: normalization,
                        cropScale: cropScale...1, into: pixels.data + v * plane)
    }
    return Array(encoder.encode(pixels: pixels.data, batch: max(batch, views)).toArray().prefix(views * D))
}

/// Float → nearest f16 → Float.
func f16Rounded(_ x: Float) -> Float { HalfPrecision.float(f16Bits: HalfPrecision.f16Bits(x)) }
