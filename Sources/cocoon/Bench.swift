import ArgumentParser
import Foundation
import Kernels

/// `cocoon bench …`: release-build throughput figures (never asserted in tests).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure throughput (build with -c release).",
        subcommands: [BenchGEMM.self, BenchText.self, BenchStore.self, BenchTune.self, BenchEncode.self]
    )
}

/// Options every benchmark shares.
struct BenchOptions: ParsableArguments {
    @Option(help: threadsHelp)
    var threads: Int?
    @Option(help: "Timed repetitions (median reported).")
    var repeats: Int = 5
}

/// The thread counts a benchmark runs at: `--thread-counts`, else `--threads` alone, else 1 and
/// every core (`COCOON_THREADS` or all).
func benchThreadCounts(_ list: String?, threads: Int?) throws -> [Int] {
    if let list { return try integerList(list, option: "--thread-counts", minimum: 1) }
    if let threads { return [threads] }
    let all = Threads.configure()
    return all > 1 ? [1, all] : [1]
}

/// Median wall time of `body` over `repeats` runs after one warm-up, in seconds.
func medianSeconds(repeats: Int, _ body: () -> Void) -> Double {
    body()
    var times: [Double] = []
    for _ in 0..<max(repeats, 1) {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    times.sort()
    return times[times.count / 2]
}

/// Peak sgemm throughput of this machine: the yardstick every other benchmark is quoted against.
func measureSgemmGFLOPS(size n: Int = 2048, repeats: Int = 3) -> Double {
    measureGFLOPS(size: n, repeats: repeats) { a, b, c in
        GEMM.sgemm(m: n, n: n, k: n, a: a.data, lda: n, b: b.data, ldb: n, c: c.data, ldc: n)
    }
}

/// GFLOPS of the BF16 product (`BF16GEMM.linear`, activations rounded per call as the towers
/// round them) on n×n×n, rows split over the configured threads.
func measureBF16GFLOPS(size n: Int = 2048, repeats: Int = 3) -> Double {
    let weights = BF16Weights(), scratch = GrowableBuffer<UInt16>()
    return measureGFLOPS(size: n, repeats: repeats) { x, w, y in
        BF16GEMM.linear(y.data, x.data, weight: w.data, bias: nil, rows: n, inFeatures: n, outFeatures: n, weights: weights, scratch: scratch)
    }
}

/// Median GFLOPS of `product(a, b, c)`, an n×n×n product over three n×n matrices.
private func measureGFLOPS(size n: Int, repeats: Int, _ product: (Tensor, Tensor, Tensor) -> Void) -> Double {
    let a = Tensor(shape: [n, n]), b = Tensor(shape: [n, n]), c = Tensor(shape: [n, n])
    for i in 0..<a.count { a[i] = Float(i % 7) * 0.01; b[i] = Float(i % 5) * 0.01 }
    let s = medianSeconds(repeats: repeats) { product(a, b, c) }
    return 2 * Double(n) * Double(n) * Double(n) / s / 1e9
}

struct BenchGEMM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm", abstract: "sgemm GFLOPS (2048³), and the BF16 kernel's where the CPU has AVX512-BF16.")
    @OptionGroup var options: BenchOptions
    @Option(help: "Matrix size.") var size: Int = 2048

    func run() throws {
        let threads = configureCompute(threads: options.threads)
        let g = measureSgemmGFLOPS(size: size, repeats: options.repeats)
        print(String(format: "sgemm %d³, %d threads: %.1f GFLOPS", size, threads, g))
        if BF16Support.available {
            let b = measureBF16GFLOPS(size: size, repeats: options.repeats)
            print(String(format: "bf16 kernel %d³, %d threads: %.1f GFLOPS", size, threads, b))
        }
    }
}
