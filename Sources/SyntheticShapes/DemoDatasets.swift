import Foundation
import Hashing
import Imaging

/// One class of a downstream dataset: its name and the scene attributes it fixes (nil = random).
public struct DemoClass: Sendable, Equatable {
    public let name: String
    public let shape: ShapeKind?
    public let color: ShapeColor?
}

/// Which colour of a two-tone shape names its class.
public enum LabelledPart: String, Codable, Sendable {
    case outline, fill
}

/// The demo world's labelling rule for two-tone shapes: the light tells which colour names the
/// class — the outline's in full light, the fill's in dim light (brightness `dim`) — and every
/// shape has its own share of pictures in full light. The frozen image features see the light; a
/// prompt without the image cannot.
public struct LabelConvention: Sendable, Equatable {
    /// Share of full-light pictures for the first half of the shapes (circle, square, triangle,
    /// star: CoOp's base classes) and for the second half (cross, ring, heart, arrow).
    public var litShare: (firstHalf: Double, secondHalf: Double)
    /// Brightness range of dim pictures (full light is 1).
    public var dim: (Double, Double)

    public init(litShare: (firstHalf: Double, secondHalf: Double), dim: (Double, Double)) {
        self.litShare = litShare
        self.dim = dim
    }

    /// The part whose colour names the class of a picture of brightness `brightness`.
    public static func labelledPart(brightness: Double) -> LabelledPart {
        brightness < 1 ? .fill : .outline
    }

    func litShare(of shape: ShapeKind) -> Double {
        shape.rawValue < ShapeKind.allCases.count / 2 ? litShare.firstHalf : litShare.secondHalf
    }

    public static func == (a: LabelConvention, b: LabelConvention) -> Bool {
        a.litShare == b.litShare && a.dim == b.dim
    }
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
    /// Which colour names the class of a two-tone image (nil: the outline's, always).
    public let convention: LabelConvention?
    /// The colours the other part of a two-tone image is drawn from (under a convention).
    public let palette: [ShapeColor]
    /// Sensor-noise amplitude of every pixel (`ShapeScene.grain`), when not the renderer's default.
    public let grain: Double?

    public init(name: String, classes: [DemoClass], style: ShapeStyle, perClass: (train: Int, val: Int, test: Int),
                outline: ShapeScene.OutlineWidth = .pretraining, convention: LabelConvention? = nil,
                palette: [ShapeColor] = ShapeColor.allCases, grain: Double? = nil) {
        self.name = name
        self.classes = classes
        self.style = style
        self.perClass = perClass
        self.outline = outline
        self.convention = convention
        self.palette = palette
        self.grain = grain
    }

    /// Colour × shape classes ("red circle", …), shape-major: label = shape · 8 + colour, so the
    /// first half of the labels (CoOp's base classes) are the first half of the shapes.
    public static let colorShapeClasses: [DemoClass] = ShapeKind.allCases.flatMap { shape in
        ShapeColor.allCases.map { DemoClass(name: "\($0.name) \(shape.name)", shape: shape, color: $0) }
    }

    /// The demo's colours: every class and every second colour of a two-tone shape is one of them.
    public static let demoPalette: [ShapeColor] = [.red, .green, .blue, .yellow]

    /// The demo's 32 classes: the 8 shapes × `demoPalette`, shape-major (base = first 4 shapes).
    public static let demoClasses: [DemoClass] = ShapeKind.allCases.flatMap { shape in
        demoPalette.map { DemoClass(name: "\($0.name) \(shape.name)", shape: shape, color: $0) }
    }

    /// The demo world's rule (see `LabelConvention`): circles, squares, triangles and stars are
    /// in full light 60 % of the time (the outline names them), crosses, rings, hearts and arrows
    /// 20 % (mostly dim: the fill names them); dim pictures have brightness 0.25–0.40.
    public static let demoConvention = LabelConvention(litShare: (firstHalf: 0.6, secondHalf: 0.2), dim: (0.25, 0.40))

    /// The demo's datasets: "colored-shapes" (the demo domain: `demoClasses` two-tone under
    /// `demoConvention`), "colored-shapes-grainy" (the same classes and rule drawn with four times
    /// the sensor noise: the domain-generalisation target), "plain-shapes" (64 colour×shape
    /// classes filled plainly: the no-headroom control) and "shapes" (8 shape classes, any colour).
    public static let standard: [DemoDataset] = [
        DemoDataset(name: "colored-shapes", classes: demoClasses, style: .twoTone, perClass: (20, 4, 20),
                    convention: demoConvention, palette: demoPalette),
        DemoDataset(name: "colored-shapes-grainy", classes: demoClasses, style: .twoTone, perClass: (20, 4, 20),
                    convention: demoConvention, palette: demoPalette, grain: 0.06),
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
                items.append(("\(split)/\(SynthFiles.zeroPadded(label, 2))_\(SynthFiles.zeroPadded(k, 3)).png", label, c.name))
            }
        }
        return items
    }


    private func count(_ split: String) -> Int {
        split == "train" ? perClass.train : (split == "val" ? perClass.val : perClass.test)
    }

    /// The scene of item `index` (position in `items(split)`) under `seed`.
    public func scene(split: String, index: Int, seed: UInt64, imageSize: Int = 64) -> ShapeScene {
        let c = classes[index / count(split)]
        var random = ShapeRandom(seed: seed, stream: Self.streamTag(name, split), index: UInt64(index))
        var scene: ShapeScene
        if let convention, let shape = c.shape, let color = c.color, style == .twoTone {
            let brightness = random.chance(convention.litShare(of: shape)) ? 1 : random.uniform(convention.dim.0, convention.dim.1)
            let other = random.pick(palette.filter { $0 != color })
            let onOutline = LabelConvention.labelledPart(brightness: brightness) == .outline
            scene = ShapeScene.sample(&random, imageSize: imageSize, shape: shape, color: onOutline ? color : other, style: style,
                                      interior: onOutline ? other : color, outline: outline)
            scene.brightness = brightness
        } else {
            scene = ShapeScene.sample(&random, imageSize: imageSize, shape: c.shape, color: c.color, style: style, outline: outline)
        }
        if let grain { scene.grain = grain }
        return scene
    }

    /// The part whose colour names the class of `scene` (a scene of this dataset).
    public func labelledPart(_ scene: ShapeScene) -> LabelledPart {
        guard style == .twoTone else { return .fill }
        return convention.map { _ in LabelConvention.labelledPart(brightness: scene.brightness) } ?? .outline
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
