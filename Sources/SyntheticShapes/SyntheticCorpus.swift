import Foundation

/// The pretraining corpus: `count` image–caption pairs from the full world (all shapes, colours,
/// backgrounds; styles plain 0.58 / dark 0.12 / two-tone 0.30). Written by `write` as
/// - `images.u8`: raw uint8 [count, side, side, 3] RGB,
/// - `captions.txt`: one caption per line (line i describes image i),
/// - `labels.tsv`: header then `shape	color	style	interior	background` per image,
/// - `corpus.json`: count, image size, seed and the layout.
/// Read by `tools/train_demo_clip.py`; never committed.
public enum SyntheticCorpus {
    /// Stream tag of corpus images (dataset streams are tagged by name and split).
    static let streamTag: UInt64 = 0x636F_7270_7573

    /// Scene and caption of corpus item `index`.
    public static func item(seed: UInt64, index: Int, imageSize: Int) -> (scene: ShapeScene, caption: String) {
        var random = ShapeRandom(seed: seed, stream: streamTag, index: UInt64(index))
        let scene = ShapeScene.sample(&random, imageSize: imageSize)
        let caption = ShapeCaptioner.caption(scene, &random)
        return (scene, caption)
    }

    /// Renders and writes the corpus into `directory` (created if needed) using `threads` workers;
    /// the bytes do not depend on `threads`.
    public static func write(to directory: URL, count: Int, seed: UInt64, imageSize: Int = 64, threads: Int = 1) throws {
        guard count > 0 else { throw SynthError("corpus size \(count): give --corpus N with N ≥ 1") }
        try SynthFiles.makeDirectory(directory)
        let imageBytes = imageSize * imageSize * 3
        var images = [UInt8](repeating: 0, count: count * imageBytes)  // [count, side, side, 3]
        var captions = [String](repeating: "", count: count)
        var labels = [String](repeating: "", count: count)
        let chunk = 256
        let chunks = (count + chunk - 1) / chunk
        images.withUnsafeMutableBufferPointer { pixels in
            captions.withUnsafeMutableBufferPointer { captionSlots in
                labels.withUnsafeMutableBufferPointer { labelSlots in
                    let base = pixels.baseAddress!
                    let captionBase = captionSlots.baseAddress!, labelBase = labelSlots.baseAddress!
                    SynthFiles.parallelFor(chunks, threads: threads) { c in
                        for i in (c * chunk)..<min(count, (c + 1) * chunk) {
                            let (scene, caption) = item(seed: seed, index: i, imageSize: imageSize)
                            ShapeRenderer.render(scene, into: base + i * imageBytes)
                            captionBase[i] = caption
                            labelBase[i] = [scene.shape.name, scene.color.name, scene.style.name,
                                            scene.interiorColor.name, scene.background.name].joined(separator: "\t")
                        }
                    }
                }
            }
        }
        try images.withUnsafeMutableBytes { raw in   // no copy: the corpus can be gigabytes
            try SynthFiles.write(Data(bytesNoCopy: raw.baseAddress!, count: raw.count, deallocator: .none),
                                 to: directory.appendingPathComponent("images.u8"))
        }
        try SynthFiles.write(Data((captions.joined(separator: "\n") + "\n").utf8), to: directory.appendingPathComponent("captions.txt"))
        let header = "shape\tcolor\tstyle\tinterior\tbackground\n"
        try SynthFiles.write(Data((header + labels.joined(separator: "\n") + "\n").utf8), to: directory.appendingPathComponent("labels.tsv"))
        let meta = """
        {"count": \(count), "image_size": \(imageSize), "seed": \(seed), "images": "images.u8", \
        "layout": "uint8 [count, image_size, image_size, 3] RGB", "captions": "captions.txt", "labels": "labels.tsv"}

        """
        try SynthFiles.write(Data(meta.utf8), to: directory.appendingPathComponent("corpus.json"))
    }
}
