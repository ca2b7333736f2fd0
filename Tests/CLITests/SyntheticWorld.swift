import Foundation
import TestSupport
import XCTest

/// The store the CLI tests share, built once per process with the demo model: `cocoon synth`
/// datasets at 32 px, and one store holding four datasets indexed with different `--views`
/// settings — colored-shapes (1 augmented view on the 1-shot draw of seed 1), shapes (2 views on
/// every train item), plain-shapes (test split only) and plain-target, a test-only image folder
/// (20 plain-shapes test images of each of 16 classes). Tests may add views; none removes any.
final class SyntheticWorld: @unchecked Sendable {
    let scratch: Scratch
    let data: URL
    let target: URL
    let store: String
    let model = Paths.demoModel.path

    /// `--store S --model M`, what every store-reading command takes.
    var task: [String] { ["--store", store, "--model", model] }

    private static let built = Result { try SyntheticWorld() }

    /// The shared world (built on first use; its failure fails every test that needs it).
    static func shared() throws -> SyntheticWorld { try built.get() }

    private init() throws {
        scratch = try Scratch("cli-world")
        data = scratch.url.appendingPathComponent("data")
        target = scratch.url.appendingPathComponent("plain-target")
        store = scratch.path("store")
        try Self.run(["synth", "--out", data.path, "--image-size", "32"])
        let split = try JSONSerialization.jsonObject(with: Data(contentsOf: data.appendingPathComponent("plain-shapes/split.json"))) as! [String: [[Any]]]
        for entry in split["test"]!.prefix(320) {
            let (path, name) = (entry[0] as! String, entry[2] as! String)
            let folder = target.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: data.appendingPathComponent("plain-shapes/" + path),
                                             to: folder.appendingPathComponent(URL(fileURLWithPath: path).lastPathComponent))
        }
        try index("split-json", data.appendingPathComponent("colored-shapes"), ["--views", "1", "--views-for", "fewshot:1:1"])
        try index("split-json", data.appendingPathComponent("shapes"), ["--views", "2"])
        try index("split-json", data.appendingPathComponent("plain-shapes"), ["--splits", "test"])
        try index("image-folder", target)
    }

    /// `cocoon index` of one dataset into the store; returns stdout.
    @discardableResult
    func index(_ dataset: String, _ root: URL, _ extra: [String] = []) throws -> String {
        try Self.run(["index", "--model", model, "--dataset", dataset, "--root", root.path, "--store", store] + extra)
    }

    /// Labels of a split of a synth dataset by absolute path.
    func labels(_ dataset: String, split: String) throws -> [String: Int] {
        let root = data.appendingPathComponent(dataset)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("split.json"))) as! [String: [[Any]]]
        return Dictionary(uniqueKeysWithValues: json[split]!.map { (root.appendingPathComponent($0[0] as! String).path, $0[1] as! Int) })
    }

    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let run = try runCocoon(arguments)
        guard run.status == 0 else { throw WorldError("cocoon \(arguments.joined(separator: " ")) failed: \(run.stderr)") }
        return run.stdout
    }
}

struct WorldError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
