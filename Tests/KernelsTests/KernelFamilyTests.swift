import Foundation
import XCTest
@testable import Kernels

/// Runs the tests whose results can depend on OpenBLAS's kernel family (`gemmDependentTests`)
/// again in child processes, once per family the CPU can run besides the one this process loaded
/// (the family is chosen when the library loads, so it takes a process of its own): `make test`
/// then fails on a result that holds only by luck of the CPU — slot-dependent features (AVX2
/// kernels), shard/merge or resume bits, parity.
final class KernelFamilyTests: XCTestCase {
    /// Set in the children, which skip this test instead of recursing.
    static let childVariable = "COCOON_KERNEL_FAMILY_RUN"

    /// Every test (`Target.Class` or `Target.Class/testName`) that runs an OpenBLAS product and
    /// asserts its bits, a tolerance that a kernel's summation order could break, or an equality
    /// between two paths that order their sums differently. A new test that runs the encoders,
    /// the tuner, a layer's GEMM or a CLI command that does, and asserts more than "it ran", joins
    /// this list (`testEveryListedTestExists` keeps the names honest). Tests of parsing, hashing,
    /// imaging, the store format, the server and the demo's findings run once: their results do
    /// not pass through a GEMM, or only through accuracies far from any rounding.
    static let gemmDependentTests: [(test: String, reason: String)] = [
        ("KernelsTests.OpenBLASCoreTests", "which kernel family loads, and the advice when it is pinned below the CPU"),
        ("KernelsTests.LayerGradientTests", "each layer's forward/backward (sgemm inside) against finite differences"),
        ("KernelsTests.BF16GEMMTests", "the BF16 kernel beside the FP32 products it replaces; row-split bit identity"),
        ("KernelsTests.FP32GEMMTests", "our FP32 kernel against cblas_sgemm at a tolerance"),
        ("KernelsTests.ParallelTests/testAttentionOnTwoThreadsGivesOneThreadsBits", "attention's sgemm calls split over heads give one thread's bits"),
        ("CLIPTests.ParityTests", "both towers of both tiny models against open_clip; batch and slot invariance"),
        ("CLIPTests.TextPassTests", "EOT cut and shared prefix equal the plain path; gradients"),
        ("PromptLearningTests.AutogradFixtureTests", "CoOp/CoCoOp loss, gradients and SGD steps against torch autograd"),
        ("PromptLearningTests.TrainingTests", "resume equals an uninterrupted run bit for bit; learning above the hand prompt"),
        ("PromptLearningTests.BF16TuningTests", "BF16 tuning against FP32 (loss, gradient cosine, accuracy)"),
        ("PromptLearningTests.PeerMethodFixtureTests", "KgCoOp and ProGrad losses, gradients and SGD steps against their official code"),
        ("PromptLearningTests.AdapterFixtureTests", "Tip-Adapter(-F), CLIP-Adapter, TaskRes and LP++ against their official code"),
        ("SyntheticShapesTests.DemoModelTests/testImageAndTextFeaturesMatchTorch", "the demo model's features against torch"),
        ("IndexingTests.IndexPipelineTests/testIndexWritesExpectedRecordsAndFeatures", "stored features equal the encoder alone, whatever the batch slot"),
        ("IndexingTests.CropScaleRecipeTests/testTwoCropScalesAreTwoRecipesSideBySide", "the crop-scale-0.5 views equal the encoder on Preprocess.view, bit for bit"),
        ("IndexingTests.CrashResumeTests", "a killed and resumed index stores the bits of a clean run"),
        ("IndexingTests.ShardMergeTests/testShardsMergeIntoTheSingleRunStore", "shards merged equal one run's store bit for bit"),
        ("IndexingTests.EmbedQueryTests", "`cocoon embed` equals the encoders; zero-shot search from the cache"),
        ("IndexingTests.PrecisionStoreTests", "BF16 and FP32 features kept apart, each as its encoder computes it"),
        ("CLITests.ReproduceTests/testTablesEqualTheIndividualCommands", "cells run on parallel lanes equal the commands run alone"),
        ("CLITests.ReproduceTests/testAnInterruptedCellResumesToTheSameTensors", "an interrupted cell resumes to the same tensors"),
    ]

    /// The x86-64 families worth a run on a CPU with these flags: the SSE3 fallback, the AVX2
    /// kernels (also what `Zen` runs) and the AVX-512 kernels.
    static func families(cpuFlags: Set<String>) -> [String] {
        #if arch(x86_64)
        var families = ["Prescott"]
        if ["avx2", "fma"].allSatisfy(cpuFlags.contains) { families.append("Haswell") }
        if ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"].allSatisfy(cpuFlags.contains) { families.append("SkylakeX") }
        return families
        #else
        return []
        #endif
    }

    /// This test bundle's runner, which takes a comma-separated list of tests to run (or `--list-tests`).
    private static var runner: URL { URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath() }

    /// Runs the runner with `arguments` and `environment` to the end; its exit status and output.
    private static func run(_ arguments: [String], environment: [String: String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = runner
        process.arguments = arguments
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    func testFamiliesFollowTheCPUFlags() {
        #if arch(x86_64)
        XCTAssertEqual(Self.families(cpuFlags: ["sse3"]), ["Prescott"])
        XCTAssertEqual(Self.families(cpuFlags: ["avx", "avx2", "fma"]), ["Prescott", "Haswell"])
        XCTAssertEqual(Self.families(cpuFlags: ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"]),
                       ["Prescott", "Haswell", "SkylakeX"])
        #endif
    }

    /// Every entry of `gemmDependentTests` names at least one test of this bundle: a renamed or
    /// removed test cannot silently leave the kernel-family runs.
    func testEveryListedTestExists() throws {
        if ProcessInfo.processInfo.environment[Self.childVariable] != nil { throw XCTSkip("child run") }
        let listed = try Self.run(["--list-tests"], environment: ProcessInfo.processInfo.environment)
        XCTAssertEqual(listed.status, 0, listed.output)
        let names = listed.output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        XCTAssertGreaterThan(names.count, 100, "the runner listed too few tests: \(listed.output.prefix(500))")
        for (test, _) in Self.gemmDependentTests {
            let isClass = !test.contains("/")
            XCTAssertTrue(names.contains { isClass ? $0.hasPrefix(test + "/") : $0 == test }, "\(test) is not a test of this bundle")
        }
    }

    func testGEMMDependentTestsPassUnderEveryOtherKernelFamily() throws {
        if let family = ProcessInfo.processInfo.environment[Self.childVariable] {
            throw XCTSkip("this is the \(family) run")
        }
        let current = OpenBLASCore.current.lowercased()
        let others = Self.families(cpuFlags: OpenBLASCore.cpuFlags()).filter { $0.lowercased() != current }
        guard !others.isEmpty else { throw XCTSkip("no other OpenBLAS kernel family runs on this CPU (\(current))") }
        let selection = Self.gemmDependentTests.map(\.test).joined(separator: ",")
        for family in others {
            var environment = ProcessInfo.processInfo.environment
            environment["OPENBLAS_CORETYPE"] = family
            environment[Self.childVariable] = family
            let child = try Self.run([selection], environment: environment)
            // Only a summary reaches this log: the child's own "Test Case … failed" lines would be
            // counted as this run's by CI's tally.
            let lines = child.output.split(separator: "\n")
            let summary = lines.last { $0.contains("Executed") && $0.contains("tests") }.map { $0.trimmingCharacters(in: .whitespaces) }
            print("kernel family \(family): \(summary ?? "no summary"), exit \(child.status)")
            for line in lines where line.contains("error:") { print("[\(family)] \(line)") }
            XCTAssertEqual(child.status, 0, "the kernel-family-dependent tests fail with OPENBLAS_CORETYPE=\(family) (lines above)")
            XCTAssertNotNil(summary, "the \(family) run printed no summary")
        }
    }
}
