import ArgumentParser
import FeatureCache
import Foundation

/// `cocoon bench store`: feature-store write and scan throughput (build with -c release).
struct BenchStore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Feature store write and scan throughput (features/s, MB/s).")
    @Option(help: "Features to write (one view per item).") var count: Int = 100_000
    @Option(help: "Feature dimension.") var dim: Int = 512
    @Option(help: "Stored element type: f16 or f32.") var dtype: String = "f16"
    @Option(help: "Directory for the temporary store (default: the system temp dir).") var directory: String?

    func run() throws {
        guard let type = FeatureDType(name: dtype) else {
            throw ValidationError("--dtype must be f16 or f32, got '\(dtype)'")
        }
        let r = try StoreBenchmark.run(count: count, dim: dim, dtype: type,
                                       directory: directory ?? NSTemporaryDirectory())
        print(String(format: "store %d × %d-d %@ (%d B/value, %.0f B/feature on disk)",
                     r.count, r.dim, r.dtype.description, r.valueBytes, r.fileBytesPerFeature))
        print(String(format: "  write: %.0f features/s, %.0f MB/s (%.0f per CPU-second)",
                     r.writeFeaturesPerSecond, r.writeMBPerSecond, r.writeFeaturesPerCPUSecond))
        print(String(format: "  scan into a new buffer: %.0f features/s, %.0f MB/s (%.0f per CPU-second; checksums verified)",
                     r.scanFeaturesPerSecond, r.scanMBPerSecond, r.scanFeaturesPerCPUSecond))
        print(String(format: "  rescan into the same buffer: %.0f features/s (%.0f per CPU-second; checksums verified)",
                     r.rescanFeaturesPerSecond, r.rescanFeaturesPerCPUSecond))
        print(String(format: "  rescan into the same buffer: %.0f features/s (%.0f per CPU-second; checksums skipped)",
                     r.rescanUncheckedFeaturesPerSecond, r.rescanUncheckedFeaturesPerCPUSecond))
    }
}
