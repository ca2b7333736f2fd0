import Foundation
import XCTest
@testable import Kernels

/// Runs the whole suite again in child processes, once per OpenBLAS kernel family the CPU can
/// run besides the one this process loaded (the family is chosen when the library loads, so it
/// takes a process of its own): `make test` then fails on a result that holds only by luck of
/// the CPU — slot-dependent features (AVX2 kernels), shard/merge or resume bits, parity.
final class KernelFamilyTests: XCTestCase {
    /// Set in the children, which skip this test instead of recursing.
    static let childVariable = "COCOON_KERNEL_FAMILY_RUN"

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

    func testFamiliesFollowTheCPUFlags() {
        #if arch(x86_64)
        XCTAssertEqual(Self.families(cpuFlags: ["sse3"]), ["Prescott"])
        XCTAssertEqual(Self.families(cpuFlags: ["avx", "avx2", "fma"]), ["Prescott", "Haswell"])
        XCTAssertEqual(Self.families(cpuFlags: ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"]),
                       ["Prescott", "Haswell", "SkylakeX"])
        #endif
    }

    func testWholeSuitePassesUnderEveryOtherKernelFamily() throws {
        if let family = ProcessInfo.processInfo.environment[Self.childVariable] {
            throw XCTSkip("this is the \(family) run")
        }
        let current = OpenBLASCore.current.lowercased()
        let others = Self.families(cpuFlags: OpenBLASCore.cpuFlags()).filter { $0.lowercased() != current }
        guard !others.isEmpty else { throw XCTSkip("no other OpenBLAS kernel family runs on this CPU (\(current))") }
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        for family in others {
            var environment = ProcessInfo.processInfo.environment
            environment["OPENBLAS_CORETYPE"] = family
            environment[Self.childVariable] = family
            let process = Process()
            process.executableURL = runner
            process.environment = environment
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            // Only a summary reaches this log: the child's own "Test Case … failed" lines would be
            // counted as this run's by CI's tally.
            let lines = text.split(separator: "\n")
            let summary = lines.last { $0.contains("Executed") && $0.contains("tests") }.map { $0.trimmingCharacters(in: .whitespaces) }
            print("kernel family \(family): \(summary ?? "no summary"), exit \(process.terminationStatus)")
            for line in lines where line.contains("error:") { print("[\(family)] \(line)") }
            XCTAssertEqual(process.terminationStatus, 0, "the suite fails with OPENBLAS_CORETYPE=\(family) (lines above)")
            XCTAssertNotNil(summary, "the \(family) run printed no summary")
        }
    }
}
