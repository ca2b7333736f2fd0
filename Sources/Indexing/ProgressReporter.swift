import Foundation

/// A progress line on stderr for long work: `label: done/total units, <detail>, <rate>/s, ETA`.
/// On a terminal (`isatty(2)`) one line is redrawn in place at most 10 times a second; otherwise
/// (logs, pipes, Slurm) a plain line is printed every `interval` seconds. Used by the indexer and
/// by the CLI's tuning runs.
public final class ProgressReporter {
    private let label: String
    private let total: Int
    private let unit: String
    private let isTerminal: Bool
    private let interval: Double
    private let start = DispatchTime.now().uptimeNanoseconds
    private var lastPrint: UInt64 = 0
    private var drewLine = false

    public init(label: String, total: Int, unit: String = "items", interval: Double = 5) {
        self.label = label
        self.total = total
        self.unit = unit
        self.isTerminal = isatty(2) == 1
        self.interval = interval
    }

    /// Seconds since the reporter was made.
    var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    /// Reports `done` units (of `total`); `detail` adds run-specific figures.
    public func update(done: Int, detail: String = "", force: Bool = false) {
        let now = DispatchTime.now().uptimeNanoseconds
        let gap = Double(now - lastPrint) / 1e9
        guard force || gap >= (isTerminal ? 0.1 : interval) else { return }
        lastPrint = now
        let t = elapsed
        let rate = t > 0 ? Double(done) / t : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let line = String(format: "%@: %d/%d %@%@, %.1f %@/s, ETA %@", label, done, total, unit,
                          detail.isEmpty ? "" : ", " + detail, rate, unit, ProgressReporter.clock(eta))
        if isTerminal {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
            drewLine = true
        } else {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    /// Prints the final state and ends the in-place line so later output starts on a fresh line.
    public func finish(done: Int, detail: String = "") {
        update(done: done, detail: detail, force: true)
        if isTerminal && drewLine { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    /// "h:mm:ss" or "m:ss".
    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
