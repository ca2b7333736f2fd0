import Foundation

/// Directory and text-file helpers shared by the readers. Listings skip hidden entries (Dassl's
/// `listdir_nohidden`) and are sorted in Python's `sorted` order (Unicode code points), so results
/// do not depend on the filesystem's order.
enum FileListing {
    /// Python `sorted` order for strings: lexicographic by Unicode scalar value.
    static func pythonSorted(_ names: [String]) -> [String] {
        names.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
    }

    static func isDirectory(_ url: URL) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) && isDir.boolValue
    }

    /// Throws unless `url` is a directory; `what` says what it should hold.
    static func requireDirectory(_ url: URL, _ what: String) throws {
        guard isDirectory(url) else {
            throw DatasetError("\(url.path): folder not found; it should hold \(what)")
        }
    }

    /// Non-hidden entries of a directory, sorted.
    static func entries(_ url: URL, _ what: String) throws -> [String] {
        try requireDirectory(url, what)
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: url.path) } catch {
            throw DatasetError("\(url.path): cannot list the folder (\(error.localizedDescription))")
        }
        return pythonSorted(names.filter { !$0.hasPrefix(".") })
    }

    /// Non-hidden subdirectories, sorted (plain files such as README.txt are skipped).
    static func subdirectories(_ url: URL, _ what: String) throws -> [String] {
        try entries(url, what).filter { isDirectory(url.appendingPathComponent($0)) }
    }

    /// Non-hidden plain files (not folders), sorted.
    static func files(_ url: URL, _ what: String) throws -> [String] {
        try entries(url, what).filter { !isDirectory(url.appendingPathComponent($0)) }
    }

    /// Lines of a UTF-8 text file, whitespace-trimmed, blank lines dropped.
    static func lines(_ url: URL, _ what: String) throws -> [String] {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw DatasetError("\(url.path): file not found; it should hold \(what)")
        }
        guard let data = FileManager.default.contents(atPath: url.path),
              let text = String(data: data, encoding: .utf8) else {
            throw DatasetError("\(url.path): cannot read the file as UTF-8 text")
        }
        return text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
    }

    /// Splits at the first space: ("n01440764", "tench"), ("1", "ApplyEyeMakeup").
    static func splitFirstSpace(_ line: String) -> (String, String) {
        guard let space = line.firstIndex(of: " ") else { return (line, "") }
        return (String(line[..<space]), String(line[line.index(after: space)...]))
    }
}
