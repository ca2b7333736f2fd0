import Dispatch
import Foundation

/// A synthetic-data failure (bad option, unwritable output); `description` is one line naming the
/// path or option and the fix.
public struct SynthError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// File and threading helpers of the synthetic writers.
enum SynthFiles {
    /// `value` in decimal, left-padded with zeros to `digits` (file names: "00_007.png", "n00000001").
    static func zeroPadded(_ value: Int, _ digits: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    static func makeDirectory(_ url: URL) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw SynthError("\(url.path): cannot create the directory (\(error.localizedDescription)); choose a writable --out")
        }
    }

    static func write(_ data: Data, to url: URL) throws {
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw SynthError("\(url.path): cannot write (\(error.localizedDescription)); check the directory is writable")
        }
    }

    /// Runs `body(0..<count)` on up to `threads` workers (each index exactly once).
    static func parallelFor(_ count: Int, threads: Int, _ body: (Int) -> Void) {
        let workers = max(1, min(threads, count))
        if workers == 1 {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                var i = w
                while i < count {
                    body(i)
                    i += workers
                }
            }
        }
    }
}
