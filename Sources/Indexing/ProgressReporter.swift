import Foundation

/// The index progress line on stderr: items done/total, views written, images/s and ETA. On a
/// terminal (`isatty(2)`) one line is redrawn in place at most 10 times a second; otherwise (logs,
/// pipes, Slurm) a plain line is printed every `interval` seconds. Used by `Indexer`.
public final class ProgressReporter {
    private let label: String
    private let total: Int
    private let isTerminal: Bool
    private let interval: Double
    private let start = DispatchTime.now().uptimeNanoseconds
    private var lastPrint: UInt64 = 0
    private var drewLine = false

    public init(label: String, total: Int, interval: Double = 5) {
        self.label = label
        self.total = total
        self.isTerminal = isatty(2) == 1
        self.interval = interval
    }

    private var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    /// Reports `done` items (of `total`) and `images` encoded so far in this run.
    public func update(done: Int, images: Int, force: Bool = false) {
        let now = DispatchTime.now().uptimeNanoseconds
        let gap = Double(now - lastPrint) / 1e9
        guard force || gap >= (isTerminal ? 0.1 : interval) else { return }
        lastPrint = now
        let t = elapsed
        let rate = t > 0 ? Double(images) / t : 0
        let itemRate = t > 0 ? Double(done) / t : 0
        let eta = itemRate > 0 ? Double(total - done) / itemRate : 0
        let line = String(format: "%@: %d/%d items, %d views, %.1f images/s, ETA %@",
                          label, done, total, images, rate, ProgressReporter.clock(eta))
        if isTerminal {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
            drewLine = true
        } else {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    /// Ends the in-place line (terminal) so later output starts on a fresh line.
    public func finish(done: Int, images: Int) {
        update(done: done, images: images, force: true)
        if isTerminal && drewLine { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    /// "h:mm:ss" or "m:ss".
    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
