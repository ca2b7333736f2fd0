import Foundation

/// Loading a `BPETokenizer` from disk: OpenAI's `bpe_simple_vocab_16e6.txt.gz` or Hugging Face's
/// `vocab.json` + `merges.txt`. Used by the CLI and model loaders.
extension BPETokenizer {
    /// File name of OpenAI's merge list (gzip of UTF-8 text, one header line then `a b` per line).
    public static let openAIVocabularyFileName = "bpe_simple_vocab_16e6.txt.gz"
    /// simple_tokenizer.py reads lines 1..<48895 of the .gz: 49152 − 256 − 2 merges.
    static let openAIMergeLineLimit = 49152 - 256 - 2 + 1

    /// Loads the tokenizer in `directory`: `bpe_simple_vocab_16e6.txt.gz` if present (OpenAI layout),
    /// otherwise `vocab.json` + `merges.txt` (Hugging Face layout; the first line of merges.txt is
    /// skipped when it starts with "#", and every other non-empty line is a merge).
    public convenience init(directory: URL) throws {
        let files = FileManager.default
        let gz = directory.appendingPathComponent(Self.openAIVocabularyFileName)
        let vocabURL = directory.appendingPathComponent("vocab.json")
        let mergesURL = directory.appendingPathComponent("merges.txt")
        if files.fileExists(atPath: gz.path) {
            let bytes = try GzipReader.decompress(try Self.readBytes(gz), path: gz.path)
            let lines = try Self.lines(of: bytes, limit: Self.openAIMergeLineLimit, path: gz.path)
            self.init(merges: try Self.parseMerges(Array(lines.dropFirst()), firstLineNumber: 2, path: gz.path))
        } else if files.fileExists(atPath: vocabURL.path) || files.fileExists(atPath: mergesURL.path) {
            for url in [vocabURL, mergesURL] where !files.fileExists(atPath: url.path) {
                throw TokenizerError.unreadableFile(path: url.path, reason: "file not found (vocab.json and merges.txt are needed together)")
            }
            let vocabulary = try Self.parseVocabularyJSON(try Self.readBytes(vocabURL), path: vocabURL.path)
            var lines = try Self.lines(of: try Self.readBytes(mergesURL), limit: .max, path: mergesURL.path)
            var firstLineNumber = 1
            if lines.first?.hasPrefix("#") == true {
                lines.removeFirst()
                firstLineNumber = 2
            }
            let merges = try Self.parseMerges(lines, firstLineNumber: firstLineNumber, path: mergesURL.path)
            do {
                try self.init(vocabulary: vocabulary, merges: merges)
            } catch let error as TokenizerError {
                throw TokenizerError.corruptFile(path: vocabURL.path, reason: error.description)
            }
        } else {
            throw TokenizerError.vocabularyNotFound(directory: directory.path)
        }
    }

    private static func readBytes(_ url: URL) throws -> [UInt8] {
        do {
            return [UInt8](try Data(contentsOf: url))
        } catch {
            throw TokenizerError.unreadableFile(path: url.path, reason: error.localizedDescription)
        }
    }

    /// The first `limit` lines of UTF-8 text split at "\n" (a trailing "\r" is dropped from each line).
    private static func lines(of bytes: [UInt8], limit: Int, path: String) throws -> [String] {
        var lines = [String]()
        var start = 0
        while start <= bytes.count && lines.count < limit {
            var end = start
            while end < bytes.count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
            var last = end
            if last > start && bytes[last - 1] == UInt8(ascii: "\r") { last -= 1 }
            guard let line = String(validating: bytes[start..<last], as: UTF8.self) else {
                throw TokenizerError.corruptFile(path: path, reason: "line \(lines.count + 1) is not UTF-8 text")
            }
            lines.append(line)
            start = end + 1
        }
        return lines
    }

    /// `a b` lines → merge pairs; empty lines are skipped, anything else must be two space-separated parts.
    private static func parseMerges(_ lines: [String], firstLineNumber: Int, path: String) throws -> [(String, String)] {
        var merges = [(String, String)]()
        merges.reserveCapacity(lines.count)
        for (k, line) in lines.enumerated() where !line.isEmpty {
            let parts = line.utf8.split(separator: UInt8(ascii: " "))
            guard parts.count == 2 else {
                throw TokenizerError.corruptFile(path: path, reason: "line \(firstLineNumber + k) is \"\(line.prefix(40))\", expected two symbols separated by a space")
            }
            merges.append((String(decoding: parts[0], as: UTF8.self), String(decoding: parts[1], as: UTF8.self)))
        }
        guard !merges.isEmpty else { throw TokenizerError.corruptFile(path: path, reason: "no merges found") }
        return merges
    }

    /// vocab.json: one JSON object mapping token strings to non-negative integer ids.
    private static func parseVocabularyJSON(_ bytes: [UInt8], path: String) throws -> [String: Int32] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)), let entries = object as? [String: Any] else {
            throw TokenizerError.corruptFile(path: path, reason: "not a JSON object of token → id")
        }
        var vocabulary = [String: Int32](minimumCapacity: entries.count)
        for (token, value) in entries {
            guard let number = value as? NSNumber, let id = Int32(exactly: number.doubleValue), id >= 0 else {
                throw TokenizerError.corruptFile(path: path, reason: "token \"\(token.prefix(40))\" has id \(value), expected an integer ≥ 0")
            }
            vocabulary[token] = id
        }
        return vocabulary
    }
}
