import Foundation
import Hashing
import Imaging

/// One class of a downstream dataset: its name and the scene attributes it fixes (nil = random).
public struct DemoClass: Sendable, Equatable {
    public let name: String
    public let shape: ShapeKind?
    public let color: ShapeColor?
}

/// A downstream dataset of the demo in CoOp's split-JSON layout (read by `Datasets` as
/// "split-json"): `<name>/split.json` and PNG images `<name>/<split>/<label>_<k>.png`. Classes are
/// numbered in `classes` order; every image is drawn from its own stream keyed by (seed, name,
/// split, index). Written by `cocoon synth`; indexed by `make demo`.
public struct DemoDataset: Sendable {
    public let name: String
    public let classes: [DemoClass]
    /// The style every image is drawn in.
    public let style: ShapeStyle
    /// Images per class in train, val and test.
    public let perClass: (train: Int, val: Int, test: Int)
    /// Outline width of two-tone images.
    public let outline: ShapeScene.OutlineWidth

    public init(name: String, classes: [DemoClass], style: ShapeStyle, perClass: (train: Int, val: Int, test: Int),
                outline: ShapeScene.OutlineWidth = .pretraining) {
        self.name = name
        self.classes = classes
        self.style = style
        self.perClass = perClass
        self.outline = outline
    }

    /// Colour × shape classes ("red circle", …), shape-major: label = shape · 8 + colour, so the
    /// first half of the labels (CoOp's base classes) are the first half of the shapes.
    public static let colorShapeClasses: [DemoClass] = ShapeKind.allCases.flatMap { shape in
        ShapeColor.allCases.map { DemoClass(name: "\($0.name) \(shape.name)", shape: shape, color: $0) }
    }

    /// The demo's datasets: "colored-shapes" (two-tone, the demo domain: 64 colour×shape classes,
    /// outlines thinner than in the pretraining corpus — 1.0–1.7 px instead of 1.25–2.8 px — so the
    /// hand-crafted prompt confuses outline and interior colour while the image features still
    /// separate them), "plain-shapes" (the same classes filled plainly: the no-headroom control) and
    /// "shapes" (8 shape classes, any colour).
    public static let standard: [DemoDataset] = [
        DemoDataset(name: "colored-shapes", classes: colorShapeClasses, style: .twoTone, perClass: (20, 4, 20),
                    outline: ShapeScene.OutlineWidth(minimum: 1.0, fractionLow: 0.04, fractionHigh: 0.06)),
        DemoDataset(name: "plain-shapes", classes: colorShapeClasses, style: .plain, perClass: (20, 4, 20)),
        DemoDataset(name: "shapes", classes: ShapeKind.allCases.map { DemoClass(name: $0.name, shape: $0, color: nil) },
                    style: .plain, perClass: (32, 8, 50)),
    ]

    /// Split names in file order.
    public static let splits = ["train", "val", "test"]

    /// (relative path, label, class name) of every item of `split`, class by class.
    public func items(_ split: String) -> [(path: String, label: Int, classname: String)] {
        let n = count(split)
        var items: [(String, Int, String)] = []
        for (label, c) in classes.enumerated() {
            for k in 0..<n {
                items.append(("\(split)/\(Self.padded(label, 2))_\(Self.padded(k, 3)).png", label, c.name))
            }
        }
        return items
    }

    private static func padded(_ value: Int, _ digits: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    private func count(_ split: String) -> Int {
        split == "train" ? perClass.train : (split == "val" ? perClass.val : perClass.test)
    }

    /// The scene of item `index` (position in `items(split)`) under `seed`.
    public func scene(split: String, index: Int, seed: UInt64, imageSize: Int = 64) -> ShapeScene {
        let c = classes[index / count(split)]
        var random = ShapeRandom(seed: seed, stream: Self.streamTag(name, split), index: UInt64(index))
        return ShapeScene.sample(&random, imageSize: imageSize, shape: c.shape, color: c.color, style: style,
                                 outline: outline)
    }

    /// FNV-1a of "name/split": the stream tag of a dataset split.
    static func streamTag(_ name: String, _ split: String) -> UInt64 {
        var hash = FNV1a64()
        hash.feed("\(name)/\(split)".utf8)
        return hash.value
    }

    /// `split.json` bytes: {"train": [[path, label, classname], …], "val": …, "test": …}, one item per line.
    public func splitJSON() -> String {
        func quoted(_ s: String) -> String {
            "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        let parts = Self.splits.map { split in
            let rows = items(split).map { "  [\(quoted($0.path)), \($0.label), \(quoted($0.classname))]" }
            return "\(quoted(split)): [\n" + rows.joined(separator: ",\n") + "\n]"
        }
        return "{\n" + parts.joined(separator: ",\n") + "\n}\n"
    }

    /// Writes `root/<name>/split.json` and every image (PNG) using `threads` workers.
    public func write(into root: URL, seed: UInt64, imageSize: Int = 64, threads: Int = 1) throws {
        let folder = root.appendingPathComponent(name)
        for split in Self.splits { try SynthFiles.makeDirectory(folder.appendingPathComponent(split)) }
        let jobs = Self.splits.flatMap { split in items(split).enumerated().map { (split, $0.offset, $0.element.path) } }
        let lock = NSLock()
        var failure: Error?
        SynthFiles.parallelFor(jobs.count, threads: threads) { j in
            let (split, index, path) = jobs[j]
            let image = ShapeRenderer.render(scene(split: split, index: index, seed: seed, imageSize: imageSize))
            do {
                try ImageFileEncoder.write(image, to: folder.appendingPathComponent(path))
            } catch {
                lock.lock()
                if failure == nil { failure = error }
                lock.unlock()
            }
        }
        if let failure { throw failure }
        try SynthFiles.write(Data(splitJSON().utf8), to: folder.appendingPathComponent("split.json"))
    }
}
