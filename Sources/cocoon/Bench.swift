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
    let times = sortedSeconds(repeats: repeats, body)
    return times[times.count / 2]
}

/// Wall times of `repeats` runs of `body` after one warm-up, fastest first, in seconds.
func sortedSeconds(repeats: Int, _ body: () -> Void) -> [Double] {
    body()
    var times: [Double] = []
    for _ in 0..<max(repeats, 1) {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    return times.sorted()
}

/// OpenBLAS's sgemm GFLOPS on n×n×n at the configured thread count.
func measureSgemmGFLOPS(size n: Int = 2048, repeats: Int = 3) -> Double {
    measureGFLOPS(size: n, repeats: repeats) { a, b, c in
        GEMM.sgemm(m: n, n: n, k: n, a: a.data, lda: n, b: b.data, ldb: n, c: c.data, ldc: n)
    }
}

/// GFLOPS of cocoon's FP32 kernel (`FP32GEMM.linear`, the kernel products run) on n×n×n, the
/// weight packed once beforehand, rows split over the configured threads.
func measureFP32KernelGFLOPS(size n: Int = 2048, repeats: Int = 3) -> Double {
    let weights = FP32Weights()
    return measureGFLOPS(size: n, repeats: repeats) { x, w, y in
        FP32GEMM.linear(y.data, x.data, weight: w.data, bias: nil, rows: n, inFeatures: n, outFeatures: n, weights: weights)
    }
}

/// The FP32 yardstick every benchmark quotes its share of: the faster of OpenBLAS's sgemm and
/// cocoon's FP32 kernel on 2048³ at the configured thread count, each its best of 5 runs (so a
/// share never flatters a case by a slow reference).
struct SgemmPeak {
    let openBLAS: Double, kernel: Double
    var gflops: Double { max(openBLAS, kernel) }

    static func measure() -> SgemmPeak {
        SgemmPeak(openBLAS: measureSgemmGFLOPS(repeats: 5), kernel: measureFP32KernelGFLOPS(repeats: 5))
    }

    /// "sgemm peak 335.2 GFLOPS (OpenBLAS 331.6, cocoon FP32 kernel avx512 335.2)"
    var description: String {
        String(format: "sgemm peak %.1f GFLOPS (OpenBLAS %.1f, cocoon FP32 kernel %@ %.1f)", gflops, openBLAS,
               "\(FP32Kernel.selected)", kernel)
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

/// GFLOPS of `product(a, b, c)`, an n×n×n product over three n×n matrices, from its fastest of
/// `repeats` runs: a peak, which a busy neighbour on a shared machine can only lower.
private func measureGFLOPS(size n: Int, repeats: Int, _ product: (Tensor, Tensor, Tensor) -> Void) -> Double {
    let a = Tensor(shape: [n, n]), b = Tensor(shape: [n, n]), c = Tensor(shape: [n, n])
    for i in 0..<a.count { a[i] = Float(i % 7) * 0.01; b[i] = Float(i % 5) * 0.01 }
    let s = sortedSeconds(repeats: repeats) { product(a, b, c) }[0]
    return 2 * Double(n) * Double(n) * Double(n) / s / 1e9
}

struct BenchGEMM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm", abstract: "sgemm GFLOPS (2048³), cocoon's FP32 kernel's, and the BF16 kernel's where the CPU has AVX512-BF16.")
    @OptionGroup var options: BenchOptions
    @Option(help: "Matrix size.") var size: Int = 2048

    func run() throws {
        let threads = configureCompute(threads: options.threads)
        let g = measureSgemmGFLOPS(size: size, repeats: options.repeats)
        print(String(format: "sgemm %d³, %d threads: %.1f GFLOPS", size, threads, g))
        let f = measureFP32KernelGFLOPS(size: size, repeats: options.repeats)
        print(String(format: "cocoon FP32 kernel (%@) %d³, %d threads: %.1f GFLOPS", "\(FP32Kernel.selected)", size, threads, f))
        if BF16Support.available {
            let b = measureBF16GFLOPS(size: size, repeats: options.repeats)
            print(String(format: "bf16 kernel %d³, %d threads: %.1f GFLOPS", size, threads, b))
        }
    }
}
