import CBLAS
import Foundation

/// Debian's OpenBLAS 0.3.21 picks its kernels from the CPU model number and falls back to the
/// 2004-era `Prescott` (SSE3) kernels on CPUs newer than it knows (measured here: an AVX-512 Xeon,
/// model 207: 32 GFLOPS instead of 136 with `Cooperlake`). The choice is made when the library
/// loads, before `main`, so `cocoon`'s `main` re-executes itself once with `OPENBLAS_CORETYPE` set
/// when the CPU's flags support a better kernel family (`better(than:cpuFlags:)`). Every test also
/// passes with the chosen kernels.
public enum OpenBLASCore {
    /// The kernel family OpenBLAS chose at load time.
    public static var current: String { String(cString: openblas_get_corename()) }

    /// The library and version, e.g. "OpenBLAS 0.3.21" (the first two words of its build config).
    public static var library: String {
        String(cString: openblas_get_config()).split(separator: " ").prefix(2).joined(separator: " ")
    }

    /// The core type to force, given what OpenBLAS chose and the CPU's `/proc/cpuinfo` flags; nil
    /// when its own choice is already the best this build can do for the CPU.
    public static func better(than chosen: String, cpuFlags: Set<String>) -> String? {
        let weak = ["prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "katmai", "coppermine", "northwood", "banias"]
        guard weak.contains(chosen.lowercased()) else { return nil }
        return best(cpuFlags: cpuFlags)
    }

    /// The strongest x86-64 kernel family this OpenBLAS has for a CPU with these flags (nil
    /// below AVX).
    public static func best(cpuFlags: Set<String>) -> String? {
        let avx512 = ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"]
        if avx512.allSatisfy(cpuFlags.contains) { return cpuFlags.contains("avx512_bf16") ? "Cooperlake" : "SkylakeX" }
        if ["avx2", "fma"].allSatisfy(cpuFlags.contains) { return "Haswell" }
        if cpuFlags.contains("avx") { return "Sandybridge" }
        return nil
    }

    /// Vector width of a family's sgemm kernels: 0 SSE, 1 AVX, 2 AVX2, 3 AVX-512 (`Cooperlake`
    /// adds BF16 only, its sgemm is `SkylakeX`'s).
    static func tier(_ family: String) -> Int {
        switch family.lowercased() {
        case "sandybridge", "bulldozer", "piledriver", "steamroller", "excavator": return 1
        case "haswell", "zen": return 2
        case "skylakex", "cooperlake", "sapphirerapids": return 3
        default: return 0
        }
    }

    /// One line for the user when the loaded kernels are weaker than the CPU supports (a pinned
    /// `OPENBLAS_CORETYPE`, or `COCOON_KEEP_OPENBLAS_CORE` keeping OpenBLAS's own fallback); nil
    /// when they are the best. `pinned` is the variable's value.
    public static func advice(loaded: String, pinned: String?, cpuFlags: Set<String>) -> String? {
        guard let best = best(cpuFlags: cpuFlags), tier(loaded) < tier(best) else { return nil }
        let cause = pinned.map { "OPENBLAS_CORETYPE=\($0) loads" } ?? "COCOON_KEEP_OPENBLAS_CORE keeps"
        let fix = pinned == nil ? "unset COCOON_KEEP_OPENBLAS_CORE" : "unset OPENBLAS_CORETYPE (or set it to \(best))"
        return "note: \(cause) OpenBLAS's \(loaded) kernels, but this CPU runs its \(best) kernels (Haswell → Cooperlake measured 1.7–1.9× on sgemm); \(fix) for speed. Features indexed with other kernels differ in the last bits, so a store refuses to mix them"
    }
    /// The flags of the first processor in `/proc/cpuinfo` (empty when unreadable).
    public static func cpuFlags() -> Set<String> {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let list = line.split(separator: ":", maxSplits: 1).last else { return [] }
        return Set(list.split(separator: " ").map(String.init))
    }

}
