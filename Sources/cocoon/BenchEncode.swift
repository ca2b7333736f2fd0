import ArgumentParser
import CLIP
import Foundation
import Imaging
import Indexing
import Kernels

/// `cocoon bench encode`: images/s of the image encoder alone, and of decode + preprocess + encode
/// from image files through the index pipeline (decode threads overlapping the encoder), with the
/// achieved GFLOPS against this machine's sgemm at the same thread count (1 and every core by
/// default; the end-to-end run at the last count only). Without `--model`, real-size ViT-B/32, ViT-B/16 and RN50
/// towers with synthetic weights. The files are 500x375 JPEGs (quality 90) unless `--format png`.
struct BenchEncode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode", abstract: "Image encoder images/s and GFLOPS, alone and from JPEG files (build with -c release).")
    @OptionGroup var options: BenchOptions
    @Option(help: "Model directory (default: synthetic ViT-B/32, ViT-B/16 and RN50).") var model: String?
    @Option(help: "Synthetic towers to run without --model, comma-separated: vit-b-32, vit-b-16, rn50.")
    var towers: String = "vit-b-32,vit-b-16,rn50"
    @Option(help: "Images per encoder batch.") var batch: Int = 32
    @Option(help: "Image files for the end-to-end run.") var images: Int = 64
    @Option(name: .customLong("decode-threads"), help: "Decode threads of the end-to-end run.") var decodeThreads: Int = 2
    @Option(help: "File format of the end-to-end run: jpeg (quality 90) or png.") var format: String = "jpeg"
    @Option(help: "Precisions side by side, comma-separated (default: fp32, and bf16 where the CPU has it); with both, the cosine of their features.")
    var precision: String?
    @Option(name: .customLong("thread-counts"), help: "Thread counts, comma-separated (default: 1 and all cores; --threads N: N only).")
    var threadCounts: String?

    func run() throws {
        let fileFormat: ImageFileFormat
        switch format.lowercased() {
        case "jpeg", "jpg": fileFormat = .jpeg(quality: 90)
        case "png": fileFormat = .png
        default: throw ValidationError("--format \(format): use jpeg or png")
        }
        configureCompute(threads: options.threads)
        let counts = try benchThreadCounts(threadCounts, threads: options.threads)
        print(String(format: "batch %d, %d decode threads, %d %@ files of 500x375; FP32 kernel: %@",
                     batch, decodeThreads, images, fileFormat.description, "\(FP32Kernel.selected)"))
        var encoders: [(String, ImageEncoder)] = []
        if let model {
            let m = try CLIPModel(directory: URL(fileURLWithPath: model))
            guard let image = m.image else { throw OptionError("\(model): no image tower") }
            encoders.append((URL(fileURLWithPath: model).lastPathComponent, image))
        } else {
            for name in towers.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) {
                switch name {
                case "vit-b-32":
                    encoders.append(("ViT-B/32 (synthetic)", .vit(try VisionTransformer(
                        weights: SyntheticWeights(), imageSize: 224, patchSize: 32, width: 768, layers: 12, heads: 12, embedDim: 512))))
                case "vit-b-16":
                    encoders.append(("ViT-B/16 (synthetic)", .vit(try VisionTransformer(
                        weights: SyntheticWeights(), imageSize: 224, patchSize: 16, width: 768, layers: 12, heads: 12, embedDim: 512))))
                case "rn50":
                    encoders.append(("RN50 (synthetic)", .resnet(try ModifiedResNet(
                        weights: SyntheticWeights(), blocksPerStage: [3, 4, 6, 3], width: 64, heads: 32, imageSize: 224, embedDim: 1024))))
                default:
                    throw ValidationError("--towers: unknown tower '\(name)'; use vit-b-32, vit-b-16 or rn50")
                }
            }
        }
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("cocoon-bench-encode-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = try writeImages(count: images, format: fileFormat, to: directory)

        let precisions = try benchPrecisions(precision)
        for threads in counts {
            _ = Threads.configure(threads)
            let peak = SgemmPeak.measure()
            print("\(threads) threads, \(peak.description)")
            try measure(encoders, precisions: precisions, peak: peak.gflops, files: threads == counts.last ? files : [])
        }
    }

    /// Each encoder's images/s alone in each precision, and from `files` (when any) through the index pipeline.
    private func measure(_ encoders: [(String, ImageEncoder)], precisions: [Precision], peak: Double, files: [URL]) throws {
        for (name, encoder) in encoders {
            let R = encoder.imageSize
            let pixels = Tensor(shape: [batch, 3, R, R])
            for i in 0..<pixels.count { pixels[i] = Float((i * 7919) % 255) / 127.5 - 1 }
            print(String(format: "%@: %.2f GFLOP/image", name, encoder.flopsPerImage / 1e9))
            var features: [Precision: Tensor] = [:]
            for p in precisions {
                encoder.use(p)
                features[p] = encoder.encode(pixels: pixels.data, batch: batch)
                let alone = medianSeconds(repeats: options.repeats) { _ = encoder.encode(pixels: pixels.data, batch: batch) }
                let aloneRate = Double(batch) / alone
                let aloneGFLOPS = encoder.flopsPerImage * aloneRate / 1e9
                print(String(format: "  %@ encoder alone:            %7.1f images/s  %6.1f GFLOPS (%.0f%% of sgemm)",
                             p.rawValue, aloneRate, aloneGFLOPS, 100 * aloneGFLOPS / peak))
                guard !files.isEmpty else { continue }
                let endToEnd = try fromFiles(files, encoder: encoder)
                let e2eGFLOPS = encoder.flopsPerImage * endToEnd / 1e9
                print(String(format: "  %@ decode+preprocess+encode: %7.1f images/s  %6.1f GFLOPS (%.0f%% of the encoder alone)",
                             p.rawValue, endToEnd, e2eGFLOPS, 100 * endToEnd / aloneRate))
            }
            encoder.use(.fp32)
            if let a = features[.fp32], let b = features[.bf16] {
                let D = encoder.embedDim
                let cosines = (0..<batch).map { i in Double(Reduce.cosine(a.data + i * D, b.data + i * D, count: D)) }
                print(String(format: "  bf16 vs fp32 features: cosine min %.5f, mean %.5f over %d images", cosines.min()!,
                             cosines.reduce(0, +) / Double(batch), batch))
            }
        }
    }

    /// Images/s of the index pipeline's decode threads feeding batches to the encoder (one pass).
    private func fromFiles(_ files: [URL], encoder: ImageEncoder) throws -> Double {
        let R = encoder.imageSize, plane = 3 * R * R
        let renderer = ViewRenderer(imageSize: R, normalization: .clip, seed: 1)
        let jobs = files.enumerated().map { ViewJob(item: UInt32($0), url: $1, key: $1.lastPathComponent, views: [0]) }
        let start = DispatchTime.now().uptimeNanoseconds
        let pipeline = DecodePipeline(jobs: jobs, threads: decodeThreads, capacity: 2 * batch, prepare: renderer.render)
        let batchPixels = Tensor(shape: [batch, 3, R, R])
        var filled = 0
        while let prepared = pipeline.next() {
            guard let pixels = prepared.pixels else { throw OptionError(prepared.error ?? "decode failed") }
            (batchPixels.data + filled * plane).update(from: pixels.data, count: plane)
            filled += 1
            if filled == batch { _ = encoder.encode(pixels: batchPixels.data, batch: filled); filled = 0 }
        }
        if filled > 0 { _ = encoder.encode(pixels: batchPixels.data, batch: filled) }
        return Double(files.count) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    /// `count` 500x375 images of smooth gradients with noise (photo-like sizes and entropy).
    private func writeImages(count: Int, format: ImageFileFormat, to directory: URL) throws -> [URL] {
        let w = 500, h = 375
        var state: UInt64 = 42
        return try (0..<count).map { i in
            var pixels = [UInt8](repeating: 0, count: w * h * 3)
            for y in 0..<h {
                for x in 0..<w {
                    state = state &* 6364136223846793005 &+ 1442695040888963407
                    let noise = Int(state >> 60)
                    let o = (y * w + x) * 3
                    pixels[o] = UInt8((x * 255 / w + i * 17 + noise) & 255)
                    pixels[o + 1] = UInt8((y * 255 / h + noise) & 255)
                    pixels[o + 2] = UInt8(((x + y) * 127 / (w + h) + i * 5) & 255)
                }
            }
            let url = directory.appendingPathComponent(String(format: "%04d.", i) + format.fileExtension)
            try ImageFileEncoder.write(RGBImage(width: w, height: h, pixels: pixels), to: url, as: format)
            return url
        }
    }
}
