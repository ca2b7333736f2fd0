import Foundation
import Hashing
import Imaging

/// One dataset of a `CoOpLayoutWorld` as its reader in `Datasets` returns it.
public struct CoOpLayoutDataset: Sendable {
    /// The `DatasetCatalog` name ("OxfordPets").
    public let name: String
    /// Its folder under `$DATA` ("oxford_pets").
    public let folder: String
    /// How its images are drawn.
    public let style: ShapeStyle
    /// Classes in label order: `classes[label].name` is the colour×shape name ("red circle").
    public let classes: [DemoClass]
    /// Raw class names in label order, spelled by the dataset's naming rule ("red_circle", "Red_Circle", …).
    public let classnames: [String]
    /// Items per split as the reader returns them (ImageNet: val = test; test-only variants: train = test, val 0).
    public let counts: (train: Int, val: Int, test: Int)
}

/// A synthetic `$DATA` root in CoOp's official on-disk layouts: the 11 datasets and the four test-only
/// ImageNet variants, with their split files and naming rules (see `CoOpLayoutPlans.swift`, one
/// function per layout), drawn from the shapes world. Each dataset draws its own `classesPerDataset`
/// of the 64 colour×shape classes in its own order (ImageNetV2/Sketch use ImageNet's classes,
/// ImageNet-A/R half of them); class folders that the reader sorts fix the label order by their
/// names, list files (classInd.txt, variants.txt, …) keep the drawn order. Every image has its own
/// `ShapeRandom` stream keyed by (seed, "coop/<dataset>/<split>", index), so the bytes depend only on
/// the seed and the sizes, never on `threads`. All images are JPEG (quality 95). Written by
/// `cocoon synth --layout coop`; read by `DatasetCatalog.load(name:root:)`.
public struct CoOpLayoutWorld: Sendable {
    /// The datasets `write` writes, in `DatasetName.all` order.
    public static let datasetNames = [
        "ImageNet", "Caltech101", "OxfordPets", "StanfordCars", "OxfordFlowers", "Food101", "FGVCAircraft",
        "SUN397", "DescribableTextures", "EuroSAT", "UCF101", "ImageNetV2", "ImageNetSketch", "ImageNetA", "ImageNetR",
    ]
    /// File in the root recording the world's parameters; marks the root as ours, so a rewrite may
    /// replace the dataset folders (never someone's real `$DATA`).
    public static let markerFile = "cocoon-coop-world.json"

    /// Classes of each dataset (1…64; ImageNet-A/R get half of ImageNet's, at least one).
    public var classesPerDataset: Int
    /// Images per class in train, val and test (ImageNet: train and test, its val folder; test-only
    /// variants: test).
    public var perClass: (train: Int, val: Int, test: Int)
    /// Image side in pixels (square images).
    public var imageSize: Int
    /// Seed of the class draws and of every image.
    public var seed: UInt64

    /// A world of `classesPerDataset` classes per dataset and `perClass` images per class; `write` validates the sizes.
    public init(classesPerDataset: Int = 8, perClass: (train: Int, val: Int, test: Int) = (8, 2, 6),
                imageSize: Int = 64, seed: UInt64 = 1) {
        self.classesPerDataset = classesPerDataset
        self.perClass = perClass
        self.imageSize = imageSize
        self.seed = seed
    }

    /// The style a dataset is drawn in. Two-tone with thin outlines (the demo's domain, where a learned
    /// prompt beats the hand-crafted one) for the datasets where CoOp gains most over zero-shot CLIP
    /// (StanfordCars, OxfordFlowers, FGVCAircraft, DescribableTextures, EuroSAT); ImageNetSketch two-tone
    /// and ImageNetR dark (domain shifts of ImageNet's classes); plain otherwise.
    public static func style(of dataset: String) -> ShapeStyle {
        switch dataset {
        case "StanfordCars", "OxfordFlowers", "FGVCAircraft", "DescribableTextures", "EuroSAT", "ImageNetSketch": return .twoTone
        case "ImageNetR": return .dark
        default: return .plain
        }
    }

    /// Outline widths of two-tone images: thin (1.0–1.7 px at 64 px), so that the hand-crafted prompt
    /// confuses outline and interior colour and a learned prompt has room to gain.
    static let outline = ShapeScene.OutlineWidth(minimum: 1.0, fractionLow: 0.04, fractionHigh: 0.06)

    /// The 15 datasets as their readers return them, in `datasetNames` order.
    public var datasets: [CoOpLayoutDataset] { Self.datasetNames.map { plan($0).info } }

    /// Throws unless the sizes are usable; messages name the `cocoon synth` option.
    public func validate() throws {
        guard (1...64).contains(classesPerDataset) else {
            throw SynthError("--classes \(classesPerDataset): give 1…64 (the world has 64 colour×shape classes)")
        }
        guard perClass.train >= 1, perClass.val >= 0, perClass.test >= 1 else {
            throw SynthError("--per-class \(perClass.train),\(perClass.val),\(perClass.test): give TRAIN ≥ 1, VAL ≥ 0, TEST ≥ 1 images per class")
        }
        guard imageSize >= 16 else { throw SynthError("--image-size \(imageSize): use 16 or more pixels") }
    }

    /// Writes all 15 datasets into `root` (CoOp's `$DATA`, created if needed) with `threads` workers,
    /// calling `progress` after each. Dataset folders left by an earlier write (root holds
    /// `markerFile`) are replaced; any other existing dataset folder is an error.
    public func write(into root: URL, threads: Int = 1, progress: (CoOpLayoutDataset) -> Void = { _ in }) throws {
        try validate()
        let plans = Self.datasetNames.map(plan)
        try SynthFiles.makeDirectory(root)
        let ours = FileManager.default.fileExists(atPath: root.appendingPathComponent(Self.markerFile).path)
        let existing = plans.map { root.appendingPathComponent($0.info.folder) }.filter { FileManager.default.fileExists(atPath: $0.path) }
        if let foreign = existing.first, !ours {
            throw SynthError("\(foreign.path): already exists and \(root.path) has no \(Self.markerFile); choose an empty --out")
        }
        for folder in existing {
            do { try FileManager.default.removeItem(at: folder) } catch {
                throw SynthError("\(folder.path): cannot remove the previous synthetic dataset (\(error.localizedDescription)); delete it by hand")
            }
        }
        try SynthFiles.write(Data(markerJSON().utf8), to: root.appendingPathComponent(Self.markerFile))
        for plan in plans {
            try render(plan, into: root, threads: threads)
            for (path, text) in plan.texts {
                let url = root.appendingPathComponent(path)
                try SynthFiles.makeDirectory(url.deletingLastPathComponent())
                try SynthFiles.write(Data(text.utf8), to: url)
            }
            progress(plan.info)
        }
    }

    /// The scene of one image: its class (nil: any shape and colour) drawn in `style` from its own stream.
    func scene(_ image: LayoutImage, style: ShapeStyle) -> ShapeScene {
        var random = ShapeRandom(seed: seed, stream: Self.tag(image.stream), index: UInt64(image.index))
        return ShapeScene.sample(&random, imageSize: imageSize, shape: image.cls?.shape, color: image.cls?.color,
                                 style: style, outline: Self.outline)
    }

    /// Renders and writes a dataset's images (folders first, then the images on `threads` workers).
    private func render(_ plan: LayoutPlan, into root: URL, threads: Int) throws {
        var folders = Set<String>()
        for image in plan.images { folders.insert((image.path as NSString).deletingLastPathComponent) }
        for folder in folders.sorted() { try SynthFiles.makeDirectory(root.appendingPathComponent(folder)) }
        let lock = NSLock()
        var failure: Error?
        SynthFiles.parallelFor(plan.images.count, threads: threads) { i in
            let image = plan.images[i]
            let pixels = ShapeRenderer.render(scene(image, style: plan.info.style))
            do {
                try ImageFileEncoder.write(pixels, to: root.appendingPathComponent(image.path), as: .jpeg(quality: 95))
            } catch {
                lock.lock()
                if failure == nil { failure = SynthError("\(error)") }   // "<file>: <reason; fix>"
                lock.unlock()
            }
        }
        if let failure { throw failure }
    }

    /// `markerFile` contents: the parameters that reproduce this root.
    private func markerJSON() -> String {
        let names = Self.datasetNames.map { "\"\($0)\"" }.joined(separator: ", ")
        return """
        {"layout": "coop", "seed": \(seed), "classes": \(classesPerDataset), \
        "per_class": [\(perClass.train), \(perClass.val), \(perClass.test)], "image_size": \(imageSize), "datasets": [\(names)]}

        """
    }

    /// FNV-1a of "coop/<text>": stream tags of images ("coop/OxfordPets/train") and class draws.
    static func tag(_ text: String) -> UInt64 {
        var hash = FNV1a64()
        hash.feed("coop/\(text)".utf8)
        return hash.value
    }
}
