import Foundation
import XCTest
@testable import CLIP

/// Reference ids: Tests/Fixtures/tokenizer/cases.json, written by tools/fixtures/tokenizer.py with
/// open_clip's SimpleTokenizer using OpenAI's special-token names (= openai/CLIP simple_tokenizer.py).
final class TokenizerTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tokenizer")

    /// Loading takes a moment in debug builds; every test shares one instance.
    private static var sharedTokenizer: BPETokenizer?
    private static var sharedCases: Cases?

    private func tokenizer() throws -> BPETokenizer {
        if let t = Self.sharedTokenizer { return t }
        let start = Date()
        let t = try BPETokenizer(directory: Self.fixtures)
        print(String(format: "tokenizer: loaded %@ in %.2f s", BPETokenizer.openAIVocabularyFileName, Date().timeIntervalSince(start)))
        Self.sharedTokenizer = t
        return t
    }

    private func cases() throws -> Cases {
        if let c = Self.sharedCases { return c }
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent("cases.json"))
        let c = try JSONDecoder().decode(Cases.self, from: data)
        Self.sharedCases = c
        return c
    }

    // MARK: vocabulary

    func testOpenAIVocabularyLayout() throws {
        let t = try tokenizer()
        XCTAssertEqual(t.vocabularySize, 49408)
        XCTAssertEqual(t.startOfText, 49406)
        XCTAssertEqual(t.endOfText, 49407)
        let expected: [(Int32, String)] = [
            (64, "a"), (188, "Ā"), (220, "Ġ"), (320, "a</w>"), (512, "in"), (49405, "jekyll</w>"),
            (49406, "<|startoftext|>"), (49407, "<|endoftext|>"), (0, "!"), (255, "Ń"), (256, "!</w>"),
        ]
        for (id, token) in expected { XCTAssertEqual(t.tokenString(id), token, "id \(id)") }
        XCTAssertEqual(t.tokenString(49408), "")
        XCTAssertEqual(t.tokenString(-1), "")
    }

    func testByteAlphabet() {
        XCTAssertEqual(ByteLevelAlphabet.scalarOfByte[0x20], "\u{0120}")
        XCTAssertEqual(ByteLevelAlphabet.scalarOfByte[0], "\u{0100}")
        XCTAssertEqual(ByteLevelAlphabet.scalarOfByte[0x41], "A")
        XCTAssertEqual(ByteLevelAlphabet.scalarOfByte[0xAD], "\u{0143}")  // soft hyphen is the last remapped byte
        XCTAssertEqual(Set(ByteLevelAlphabet.scalarOfByte).count, 256)
        for byte in 0..<256 { XCTAssertEqual(ByteLevelAlphabet.byte(of: ByteLevelAlphabet.scalarOfByte[byte]), UInt8(byte)) }
        XCTAssertNil(ByteLevelAlphabet.byte(of: " "))
        XCTAssertNil(ByteLevelAlphabet.byte(of: "\u{0144}"))
    }

    // MARK: encoding against the reference

    func testSpecVectors() throws {
        let t = try tokenizer()
        XCTAssertEqual(try t.tokenize("a photo of a cat").prefix(8), [49406, 320, 1125, 539, 320, 2368, 49407, 0])
        XCTAssertEqual(t.encode("a photo of a dog").last, 1929)
        XCTAssertEqual(try t.tokenize("A diagram").prefix(4), [49406, 320, 22697, 49407])
        XCTAssertEqual(t.encode("don't stop"), [847, 713, 1691])
        XCTAssertEqual(t.encode("naïve résumé"), [1097, 35689, 563, 29106, 7054, 4166])
        XCTAssertEqual(t.encode("東京"), [48338, 21078, 361])
        XCTAssertEqual(t.encode("Hello, World!  It's 3.14 &amp; café"), [3306, 267, 1002, 256, 585, 568, 274, 269, 272, 275, 261, 15304])
    }

    func testEncodeCasesMatchReference() throws {
        let t = try tokenizer()
        let c = try cases()
        XCTAssertEqual(c.encode.count, 47)
        for e in c.encode {
            XCTAssertEqual(t.encode(e.text), e.ids, "encode \(e.text.debugDescription)")
            XCTAssertEqual(t.decode(e.ids), e.decoded, "decode of \(e.text.debugDescription)")
        }
    }

    func testTokenizeCasesMatchReference() throws {
        let t = try tokenizer()
        for e in try cases().tokenize {
            let ids = try t.tokenize(e.text, contextLength: e.contextLength)
            XCTAssertEqual(ids, e.ids, "tokenize \(e.text.prefix(40).debugDescription) to \(e.contextLength)")
        }
        let batch = try t.tokenize(["a photo of a cat", ""], contextLength: 77)
        XCTAssertEqual(batch.map(\.count), [77, 77])
        XCTAssertEqual(Array(batch[1].prefix(3)), [49406, 49407, 0])
    }

    func testTruncation() throws {
        let t = try tokenizer()
        let long = String(repeating: "a photo of a ", count: 30) + "cat"   // 121 ids + SOT/EOT
        XCTAssertEqual(t.encode(long).count, 121)
        let ids = try t.tokenize(long)
        XCTAssertEqual(ids.count, 77)
        XCTAssertEqual(ids[0], 49406)
        XCTAssertEqual(ids[76], 49407)
        XCTAssertEqual(Array(ids[1..<76]), Array(t.encode(long).prefix(75)))
        XCTAssertFalse(ids.contains(0))

        XCTAssertThrowsError(try t.tokenize(long, truncate: false)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("123 tokens") && message.contains("context length 77") && message.contains("truncate"), message)
            XCTAssertFalse(message.contains("\n"))
        }
        // Exactly 77 fits without truncation: SOT + 75 ids + EOT.
        let fits = String(repeating: "cat ", count: 75)
        XCTAssertEqual(try t.tokenize(fits, truncate: false).last, 49407)
        XCTAssertThrowsError(try t.tokenize(fits + "cat", truncate: false))
        XCTAssertEqual(try t.tokenize("a photo", contextLength: 1), [49407])
        XCTAssertThrowsError(try t.tokenize("a photo", contextLength: 0)) { error in
            XCTAssertTrue("\(error)".contains("context length 0"))
        }
    }

    /// Every class name of the 15 CoOp datasets, alone and inside CoOp's and CLIP's prompts.
    func testClassNamesMatchReference() throws {
        let t = try tokenizer()
        let c = try cases()
        var matched = 0, total = 0, texts = 0
        let start = Date()
        for (dataset, rows) in c.classnames.sorted(by: { $0.key < $1.key }) {
            for row in rows {
                let text = row.name.replacingOccurrences(of: "_", with: " ")
                let ids = t.encode(text)
                let coop = t.encode("\(c.coopPrefix) \(text).")
                let photo = t.encode("a photo of a \(text).")
                texts += 3
                total += 1
                if ids == row.ids && coop == row.coop && photo == row.photo { matched += 1 }
                XCTAssertEqual(ids, row.ids, "\(dataset): \(row.name)")
                XCTAssertEqual(coop, row.coop, "\(dataset): CoOp prompt of \(row.name)")
                XCTAssertEqual(photo, row.photo, "\(dataset): photo prompt of \(row.name)")
            }
        }
        let seconds = Date().timeIntervalSince(start)
        print(String(format: "tokenizer: %d/%d class names matched (%d datasets); %d texts in %.3f s = %.0f texts/s (cache warm after first use)",
                     matched, total, c.classnames.count, texts, seconds, Double(texts) / seconds))
        XCTAssertEqual(c.classnames.count, 13)  // 15 datasets; ImageNetV2/Sketch use ImageNet's names
        XCTAssertEqual(c.classnames["ImageNet"]?.count, 1000)
        XCTAssertEqual(c.classnames["SUN397"]?.count, 397)
        XCTAssertEqual(c.classnames["ImageNetA"]?.count, 200)
        XCTAssertEqual(c.classnames["ImageNetR"]?.count, 200)
        XCTAssertEqual(total, 2591)
        XCTAssertEqual(matched, total)
    }

    // MARK: decoding

    func testDecodeRoundTrip() throws {
        let t = try tokenizer()
        XCTAssertEqual(t.decode(t.encode("a photo of a cat")), "a photo of a cat ")
        XCTAssertEqual(t.decode(t.encode("Naïve RÉSUMÉ, 東京!")), "naïve résumé , 東京 ! ")
        XCTAssertEqual(t.decode(try t.tokenize("hi there").filter { $0 != 0 }), "<|startoftext|>hi there <|endoftext|>")
        // A lone byte of a multi-byte character decodes to U+FFFD, like errors="replace".
        XCTAssertEqual(t.decode([t.encode("東").first!]), "\u{FFFD}")
        XCTAssertEqual(t.decode([320, 99_999, -5, 2368]), "a cat ")
        XCTAssertEqual(t.tokenString(1125), "photo</w>")
    }

    // MARK: Hugging Face layout

    /// vocab.json + merges.txt built from the .gz (as transformers' converter does) give identical ids.
    func testHuggingFaceLayoutMatchesGzip() throws {
        let t = try tokenizer()
        let directory = try temporaryDirectory()
        let gz = [UInt8](try Data(contentsOf: Self.fixtures.appendingPathComponent(BPETokenizer.openAIVocabularyFileName)))
        let text = String(decoding: try GzipReader.decompress(gz, path: "fixture"), as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 262_146)  // 262,145 lines and a final newline
        let merges = "#version: 0.2\n" + lines[1..<48895].joined(separator: "\n") + "\n"
        try merges.write(to: directory.appendingPathComponent("merges.txt"), atomically: true, encoding: .utf8)
        var vocabulary = [String: Int]()
        for id in 0..<Int32(t.vocabularySize) { vocabulary[t.tokenString(id)] = Int(id) }
        XCTAssertEqual(vocabulary.count, 49408)
        try JSONSerialization.data(withJSONObject: vocabulary).write(to: directory.appendingPathComponent("vocab.json"))

        var start = Date()
        let hf = try BPETokenizer(directory: directory)
        print(String(format: "tokenizer: loaded vocab.json + merges.txt in %.2f s", Date().timeIntervalSince(start)))
        XCTAssertEqual(hf.vocabularySize, 49408)
        XCTAssertEqual(hf.startOfText, 49406)
        XCTAssertEqual(hf.endOfText, 49407)
        for id: Int32 in [0, 64, 188, 320, 512, 30000, 49405, 49407] { XCTAssertEqual(hf.tokenString(id), t.tokenString(id)) }
        // Cold cache: every word goes through BPE once.
        let c = try cases()
        let rows = c.classnames.values.flatMap { $0 }
        start = Date()
        var count = 0
        for row in rows {
            let ids = hf.encode("a photo of a \(row.name.replacingOccurrences(of: "_", with: " ")).")
            XCTAssertEqual(ids, row.photo, "HF layout: \(row.name)")
            count += ids.count
        }
        let seconds = Date().timeIntervalSince(start)
        print(String(format: "tokenizer: %d prompts (%d ids) encoded with a cold cache in %.3f s = %.0f prompts/s",
                     rows.count, count, seconds, Double(rows.count) / seconds))
        for e in c.encode { XCTAssertEqual(hf.encode(e.text), e.ids, "HF layout: \(e.text.debugDescription)") }
    }

    /// A tiny custom vocabulary (specials at 0 and 1, 15 merges) with ids from the Python reference.
    func testCustomVocabulary() throws {
        let custom = try BPETokenizer(directory: Self.fixtures.appendingPathComponent("custom_vocab"))
        XCTAssertEqual(custom.startOfText, 0)
        XCTAssertEqual(custom.endOfText, 1)
        XCTAssertEqual(custom.vocabularySize, 2 + 512 + 15)
        XCTAssertEqual(custom.tokenString(517), "hello</w>")
        let c = try cases()
        XCTAssertEqual(c.customVocab.count, 5)
        for e in c.customVocab {
            XCTAssertEqual(custom.encode(e.text), e.ids, "custom: \(e.text)")
            XCTAssertEqual(try custom.tokenize(e.text, contextLength: 16), e.tokenize, "custom tokenize: \(e.text)")
        }
        // In-code construction with a piece missing from the vocabulary: it becomes <|endoftext|>.
        let tiny = try BPETokenizer(vocabulary: ["<|startoftext|>": 5, "<|endoftext|>": 6, "h": 0, "i</w>": 1, "hi</w>": 2],
                                    merges: [("h", "i</w>")])
        XCTAssertEqual(tiny.encode("hi hi"), [2, 2])
        XCTAssertEqual(tiny.encode("ho"), [0, 6])
        XCTAssertEqual(tiny.vocabularySize, 7)
        XCTAssertEqual(tiny.tokenString(3), "")
    }

    // MARK: errors

    func testMissingAndCorruptFilesGiveClearErrors() throws {
        let empty = try temporaryDirectory()
        assertError(try BPETokenizer(directory: empty), contains: ["no CLIP tokenizer vocabulary", empty.path, "vocab.json + merges.txt"])

        let garbage = try temporaryDirectory()
        try Data("this is not gzip".utf8).write(to: garbage.appendingPathComponent(BPETokenizer.openAIVocabularyFileName))
        assertError(try BPETokenizer(directory: garbage), contains: ["corrupt tokenizer file", "bpe_simple_vocab_16e6.txt.gz", "not valid gzip"])

        let truncated = try temporaryDirectory()
        let gz = try Data(contentsOf: Self.fixtures.appendingPathComponent(BPETokenizer.openAIVocabularyFileName))
        try gz.prefix(gz.count / 2).write(to: truncated.appendingPathComponent(BPETokenizer.openAIVocabularyFileName))
        assertError(try BPETokenizer(directory: truncated), contains: ["bpe_simple_vocab_16e6.txt.gz", "truncated"])

        let onlyVocab = try temporaryDirectory()
        try Data("{}".utf8).write(to: onlyVocab.appendingPathComponent("vocab.json"))
        assertError(try BPETokenizer(directory: onlyVocab), contains: ["merges.txt", "file not found"])

        let badJSON = try temporaryDirectory()
        try Data("[1, 2".utf8).write(to: badJSON.appendingPathComponent("vocab.json"))
        try Data("#version: 0.2\na b\n".utf8).write(to: badJSON.appendingPathComponent("merges.txt"))
        assertError(try BPETokenizer(directory: badJSON), contains: ["vocab.json", "not a JSON object"])

        let noSpecials = try temporaryDirectory()
        try Data(#"{"a": 0, "b": 1, "ab</w>": 2}"#.utf8).write(to: noSpecials.appendingPathComponent("vocab.json"))
        try Data("#version: 0.2\na b</w>\n".utf8).write(to: noSpecials.appendingPathComponent("merges.txt"))
        assertError(try BPETokenizer(directory: noSpecials), contains: ["vocab.json", "<|startoftext|>"])

        let badMerges = try temporaryDirectory()
        try Data(#"{"<|startoftext|>": 0, "<|endoftext|>": 1}"#.utf8).write(to: badMerges.appendingPathComponent("vocab.json"))
        try Data("#version: 0.2\na b\nc d e\n".utf8).write(to: badMerges.appendingPathComponent("merges.txt"))
        assertError(try BPETokenizer(directory: badMerges), contains: ["merges.txt", "line 3", "two symbols"])

        let negative = try temporaryDirectory()
        try Data(#"{"<|startoftext|>": 0, "<|endoftext|>": -1}"#.utf8).write(to: negative.appendingPathComponent("vocab.json"))
        try Data("#version: 0.2\na b\n".utf8).write(to: negative.appendingPathComponent("merges.txt"))
        assertError(try BPETokenizer(directory: negative), contains: ["vocab.json", "<|endoftext|>", "integer"])
        assertError(try BPETokenizer(vocabulary: ["<|startoftext|>": 0, "<|endoftext|>": 1, "huge": 1 << 30], merges: []),
                    contains: ["\"huge\"", "1073741824", "0..<16777216"])
    }

    // MARK: cleaning pieces that the reference cases cannot isolate

    func testLowercaseFinalSigmaAndSpecialCasing() {
        func lower(_ s: String) -> String { String(String.UnicodeScalarView(TextCleaner.pythonLowercased(Array(s.unicodeScalars)))) }
        XCTAssertEqual(lower("ΟΔΟΣ ΣΑ Σ ΑΣ."), "οδος σα σ ας.")
        XCTAssertEqual(lower("İ"), "i\u{0307}")
        XCTAssertEqual(lower("ABC xyz ẞ"), "abc xyz ß")
    }

    /// Split class of every code point (sampled inside long runs) equals the regex module's; `str.lower()`
    /// and ftfy's width table agree for every character Python's Unicode version knows.
    func testUnicodeTablesMatchPython() throws {
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent("unicode_tables.json"))
        let tables = try JSONDecoder().decode(UnicodeTables.self, from: data)
        XCTAssertEqual(tables.splitClasses.first?.first, 0)
        XCTAssertEqual(tables.splitClasses.last?.last, 0x10_FFFF)
        var checked = 0
        for range in tables.splitClasses {
            let first = range.first, last = range.last, expected = range.kind
            let values = last - first < 4096 ? Array(first...last) : Array(first..<(first + 2048)) + Array(stride(from: first + 2048, to: last - 2048, by: 97)) + Array((last - 2047)...last)
            for v in values {
                let c = Unicode.Scalar(UInt32(v))!
                let mine: String
                switch PreTokenizer.characterClass(c) {
                case .letter: mine = "L"
                case .number: mine = "N"
                case .space: mine = "S"
                case .other: mine = "O"
                }
                if mine != expected { XCTFail(String(format: "U+%04X: split class %@, Python regex %@", v, mine, expected)) }
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 100_000)

        // Python's Unicode database (14.0 for Python 3.11) may be older than Swift's; skip newer characters.
        let pythonVersion = tables.unidataVersion.split(separator: ".").compactMap { Int($0) }
        func knownToPython(_ c: Unicode.Scalar) -> Bool {
            guard let age = c.properties.age else { return false }
            return [age.major, age.minor].lexicographicallyPrecedes(pythonVersion.prefix(2)) || [age.major, age.minor] == Array(pythonVersion.prefix(2))
        }
        for v in 0..<0x11_0000 where v != 0x3A3 {
            guard let c = Unicode.Scalar(UInt32(v)), c.properties.changesWhenLowercased || tables.lower[String(v)] != nil,
                  knownToPython(c) else { continue }
            let mine = TextCleaner.pythonLowercased([c]).map { $0.value }
            XCTAssertEqual(mine, tables.lower[String(v)] ?? [UInt32(v)], String(format: "lower of U+%04X", v))
        }
        XCTAssertEqual(tables.width.count, 226)
        for (key, expected) in tables.width {
            let c = Unicode.Scalar(UInt32(key)!)!
            XCTAssertEqual(TextCleaner.fixText([c]).map { $0.value }, expected, "width of U+\(String(c.value, radix: 16))")
        }
    }

    // MARK: helpers

    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cocoon-tokenizer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    private func assertError<T>(_ expression: @autoclosure () throws -> T, contains parts: [String],
                                file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            let message = "\(error)"
            for part in parts { XCTAssertTrue(message.contains(part), "\"\(message)\" lacks \"\(part)\"", file: file, line: line) }
            XCTAssertFalse(message.contains("\n"), "multi-line error: \(message)", file: file, line: line)
        }
    }
}

/// cases.json
private struct Cases: Decodable {
    struct Encoded: Decodable { let text: String; let ids: [Int32]; let decoded: String }
    struct Tokenized: Decodable {
        let text: String; let contextLength: Int; let ids: [Int32]
        enum CodingKeys: String, CodingKey { case text, contextLength = "context_length", ids }
    }
    struct Custom: Decodable { let text: String; let ids: [Int32]; let tokenize: [Int32] }
    /// `[name, ids, CoOp prompt ids, photo prompt ids]`
    struct ClassRow: Decodable {
        let name: String; let ids: [Int32]; let coop: [Int32]; let photo: [Int32]
        init(from decoder: Decoder) throws {
            var c = try decoder.unkeyedContainer()
            name = try c.decode(String.self)
            ids = try c.decode([Int32].self)
            coop = try c.decode([Int32].self)
            photo = try c.decode([Int32].self)
        }
    }

    let encode: [Encoded]
    let tokenize: [Tokenized]
    let coopPrefix: String
    let classnames: [String: [ClassRow]]
    let customVocab: [Custom]

    enum CodingKeys: String, CodingKey {
        case encode, tokenize, classnames, coopPrefix = "coop_prefix", customVocab = "custom_vocab"
    }
}

/// unicode_tables.json
private struct UnicodeTables: Decodable {
    /// Code points first...last have split class `kind`: L, N, S or O.
    struct ClassRange { let first: Int; let last: Int; let kind: String }
    let splitClasses: [ClassRange]
    let lower: [String: [UInt32]]
    let width: [String: [UInt32]]
    let unidataVersion: String

    enum CodingKeys: String, CodingKey { case splitClasses = "split_classes", lower, width, unidataVersion = "unidata_version" }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        lower = try c.decode([String: [UInt32]].self, forKey: .lower)
        width = try c.decode([String: [UInt32]].self, forKey: .width)
        unidataVersion = try c.decode(String.self, forKey: .unidataVersion)
        var rows = try c.nestedUnkeyedContainer(forKey: .splitClasses)
        var ranges = [ClassRange]()
        while !rows.isAtEnd {
            var row = try rows.nestedUnkeyedContainer()
            ranges.append(ClassRange(first: try row.decode(Int.self), last: try row.decode(Int.self), kind: try row.decode(String.self)))
        }
        splitClasses = ranges
    }
}
