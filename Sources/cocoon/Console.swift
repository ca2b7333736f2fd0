import ArgumentParser
import Foundation
import Kernels

/// Sets the thread counts for a command that computes (`Threads.configure`; `serialBLAS` for prompt
/// tuning) and prints, once on stderr, `OpenBLASCore.advice` when the loaded kernels are weaker
/// than the CPU supports.
@discardableResult
func configureCompute(threads requested: Int?, serialBLAS: Bool = false) -> Int {
    let environment = ProcessInfo.processInfo.environment
    if let advice = OpenBLASCore.advice(loaded: OpenBLASCore.current, pinned: environment["OPENBLAS_CORETYPE"],
                                        cpuFlags: OpenBLASCore.cpuFlags()) {
        FileHandle.standardError.write(Data((advice + "\n").utf8))
    }
    return Threads.configure(requested, serialBLAS: serialBLAS)
}

/// A comma-separated list of integers of at least `minimum` (`--shots 1,2,4`, `--seeds 1,2,3`),
/// or a one-line error naming the option.
func integerList(_ text: String, option: String, minimum: Int) throws -> [Int] {
    let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !values.isEmpty, values.allSatisfy({ ($0 ?? minimum - 1) >= minimum }) else {
        throw ValidationError("\(option) '\(text)': expected integers of at least \(minimum), such as 1,2,3")
    }
    return values.map { $0! }
}

/// Prints a JSON-serialisable value (sorted keys, pretty).
func printJSON(_ value: Any) throws {
    let data = try JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    print(String(decoding: data, as: UTF8.self))
}

/// Encodes a Codable value as a JSON object for `printJSON`.
func jsonObject<T: Encodable>(_ value: T) throws -> Any {
    try JSONSerialization.jsonObject(with: JSONEncoder().encode(value))
}

/// The one help text of `--threads` (every computing command).
let threadsHelp: ArgumentHelp = "Compute threads, for cocoon and OpenBLAS (default: COCOON_THREADS or all cores)."
