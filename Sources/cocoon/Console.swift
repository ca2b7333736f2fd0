import Foundation

/// A one-line progress display on stderr: redrawn in place on a terminal, a plain line every
/// `plainInterval` seconds otherwise (logs, CI). Used by every long-running command.
final class ProgressLine {
    private let isTerminal = isatty(2) != 0
    private var lastPlain = DispatchTime.now().uptimeNanoseconds
    private let plainInterval: UInt64 = 5_000_000_000
    private var drawn = false
    let quiet: Bool

    init(quiet: Bool = false) { self.quiet = quiet }

    /// Shows `text` (one line); on a non-terminal only every few seconds unless `force`.
    func update(_ text: String, force: Bool = false) {
        guard !quiet else { return }
        if isTerminal {
            FileHandle.standardError.write(Data(("\r\u{1B}[2K" + text).utf8))
            drawn = true
        } else {
            let now = DispatchTime.now().uptimeNanoseconds
            guard force || now - lastPlain >= plainInterval else { return }
            lastPlain = now
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }

    /// Ends the in-place line so later output starts on a fresh line.
    func finish() {
        if drawn { FileHandle.standardError.write(Data("\n".utf8)); drawn = false }
    }
}

/// A bar of `width` cells for fraction `f` in [0, 1].
func bar(_ f: Double, width: Int = 24) -> String {
    let filled = Int((max(0, min(1, f)) * Double(width)).rounded())
    return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
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
