import ArgumentParser
import Kernels

// `--precision`: its parsing, its refusal on CPUs without AVX512-BF16, and its help texts.

extension Precision {
    /// Parses `--precision`, and for bf16 checks this CPU runs it (one-line error otherwise).
    init(option text: String) throws {
        guard let p = Precision(rawValue: text.lowercased()) else {
            throw OptionError("--precision '\(text)': expected fp32 or bf16")
        }
        if p == .bf16, let reason = bf16Refusal(cpuFlags: OpenBLASCore.cpuFlags()) { throw OptionError(reason) }
        self = p
    }
}

/// nil when the BF16 kernels run here; else the one-line refusal of `--precision bf16` naming the
/// missing instruction sets (`cpuFlags` as /proc/cpuinfo lists them; `kernelsRun`: whether the
/// kernels' own check passes, i.e. the OS also enables AVX-512 state).
func bf16Refusal(cpuFlags: Set<String>, kernelsRun: Bool = BF16Support.available) -> String? {
    let missing = BF16Support.required.filter { !cpuFlags.contains($0) }
    if missing.isEmpty && kernelsRun { return nil }
    let named = missing.isEmpty ? "the OS does not enable AVX-512 state" : "this CPU lacks \(missing.joined(separator: ", "))"
    return "--precision bf16 needs AVX512-BF16 (\(named)); use --precision fp32 (the default) on this machine"
}

/// The precisions a benchmark runs side by side: `--precision` as a comma list, or by default
/// fp32, and bf16 where the CPU has it (`bench encode`, `bench tune`).
func benchPrecisions(_ text: String?) throws -> [Precision] {
    try text.map { try $0.split(separator: ",").map { try Precision(option: String($0)) } }
        ?? (BF16Support.available ? [.fp32, .bf16] : [.fp32])
}

/// The one help text of `--precision` (index, embed, predict, bench encode).
let precisionHelp: ArgumentHelp = "Image tower arithmetic: fp32 (exact, default) or bf16 (AVX512-BF16 inputs and weights, fp32 accumulation; its own extractor in a store)."

/// The help text of `--precision` on `tune` (and `bench tune`): the text tower's arithmetic.
let textPrecisionHelp: ArgumentHelp = "Text tower arithmetic while tuning: fp32 (default) or bf16 (its linear layers and their input gradients in BF16 on AVX512-BF16; context, Meta-Net, optimizer and loss stay fp32)."
