import Kernels
import XCTest
@testable import cocoon

/// `--precision`: the CLI's parsing and its one-line refusal of bf16 on CPUs without AVX512-BF16.
final class PrecisionOptionTests: XCTestCase {
    func testCPUsWithoutAVX512BF16AreRefusedInOneLine() {
        let zen3: Set<String> = ["avx2", "fma", "sse4_2"]
        let reason = bf16Refusal(cpuFlags: zen3, kernelsRun: false)
        XCTAssertEqual(reason, "--precision bf16 needs AVX512-BF16 (this CPU lacks avx512f, avx512bw, avx512vl, avx512_bf16); use --precision fp32 (the default) on this machine")
        let skylake: Set<String> = ["avx512f", "avx512bw", "avx512vl"]
        XCTAssertTrue(bf16Refusal(cpuFlags: skylake, kernelsRun: false)!.contains("lacks avx512_bf16"))
        XCTAssertNil(bf16Refusal(cpuFlags: skylake.union(["avx512_bf16"]), kernelsRun: true))
        XCTAssertThrowsError(try Precision(option: "fp16")) { XCTAssertEqual("\($0)", "--precision 'fp16': expected fp32 or bf16") }
        XCTAssertEqual(try Precision(option: "FP32"), .fp32)
    }
}
