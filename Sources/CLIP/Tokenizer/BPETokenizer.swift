import Foundation

/// CLIP's byte-level BPE tokenizer, id-for-id equal to OpenAI's `simple_tokenizer.py` (and open_clip's
/// `SimpleTokenizer`): text cleaning (`TextCleaner`), the regex split (`PreTokenizer`), byte-level BPE
/// with the merge ranks, and `tokenize` to the fixed 77-token context with SOT/EOT and zero padding.
/// Holds the vocabulary (id → token string), the merge table and a cache of already encoded words.
/// Used by the text encoder / prompt learner to build token ids, and to print nearest words.
/// Safe to share between threads (the cache is locked).
public final class BPETokenizer {
    /// Id of `<|startoftext|>` (49406 in OpenAI's vocabulary).
    public let startOfText: Int32
    /// Id of `<|endoftext|>` (49407 in OpenAI's vocabulary); also used for pieces missing from a custom vocabulary.
    public let endOfText: Int32
    /// Number of rows an embedding table needs: largest id + 1 (49408 for OpenAI's vocabulary).
    public var vocabularySize: Int { tokens.count }

    /// [V] token string of each id, e.g. "photo</w>"; "" for ids that a vocab.json leaves unused.
    private let tokens: [String]
    /// [256] BPE symbol of each byte inside a word, and of the byte that ends a word (with "</w>").
    private let symbolOfByte: [Int32]
    private let symbolOfFinalByte: [Int32]
    /// (left symbol << 32 | right symbol) → (rank << 32 | merged symbol). Rank = merge line index.
    private let merges: [UInt64: UInt64]
    /// [S] vocabulary id of each BPE symbol.
    private let idOfSymbol: [Int32]
    /// UTF-8 bytes of a split piece → its ids. Keyed by bytes: String equality would merge canonically equivalent pieces.
    private var cache: [[UInt8]: [Int32]]
    private let cacheLock = NSLock()
    private static let cacheCapacity = 1 << 18
    /// Ids index an embedding table; larger ones in a vocab.json are taken as corruption.
    static let maximumTokenID: Int32 = 1 << 24

    static let startOfTextToken = "<|startoftext|>"
    static let endOfTextToken = "<|endoftext|>"

    /// OpenAI's vocabulary layout from a merge list: ids 0–255 are the byte characters in mapping order,
    /// 256–511 the same with "</w>", then one id per merge (`a+b`, in merge order), then
    /// `<|startoftext|>` and `<|endoftext|>`. With the 48,894 merges of `bpe_simple_vocab_16e6.txt.gz`
    /// this is the 49,408-entry CLIP vocabulary.
    public convenience init(merges: [(String, String)]) {
        let base = ByteLevelAlphabet.scalarsInMappingOrder.map { String(Character($0)) }
        let tokens = base + base.map { $0 + "</w>" } + merges.map { $0.0 + $0.1 }
            + [Self.startOfTextToken, Self.endOfTextToken]
        var vocabulary = [String: Int32](minimumCapacity: tokens.count)
        for (id, token) in tokens.enumerated() { vocabulary[token] = Int32(id) }  // later entries win, as in Python
        self.init(tokens: tokens, vocabulary: vocabulary, merges: merges,
                  startOfText: Int32(tokens.count - 2), endOfText: Int32(tokens.count - 1))
    }

    /// Hugging Face layout (`vocab.json` token → id, `merges.txt` pairs); works for small custom
    /// vocabularies too. `<|startoftext|>` and `<|endoftext|>` must be in `vocabulary`. A BPE piece
    /// missing from `vocabulary` encodes as `<|endoftext|>` (Hugging Face's default unknown token).
    public convenience init(vocabulary: [String: Int32], merges: [(String, String)]) throws {
        guard let sot = vocabulary[Self.startOfTextToken] else { throw TokenizerError.missingSpecialToken(Self.startOfTextToken) }
        guard let eot = vocabulary[Self.endOfTextToken] else { throw TokenizerError.missingSpecialToken(Self.endOfTextToken) }
        for (token, id) in vocabulary where id < 0 || id >= Self.maximumTokenID {
            throw TokenizerError.invalidTokenID(token: token, id: id)
        }
        var tokens = [String](repeating: "", count: Int(vocabulary.values.max() ?? 0) + 1)
        for (token, id) in vocabulary { tokens[Int(id)] = token }
        self.init(tokens: tokens, vocabulary: vocabulary, merges: merges, startOfText: sot, endOfText: eot)
    }

    /// String keys are safe here although Swift compares Strings by canonical equivalence: BPE strings are
    /// made of byte characters (U+0021…U+0143 and "</w>"), each of which decomposes to at most a base letter
    /// and one combining mark that is itself outside the alphabet, so no two different ones are equivalent.
    private init(tokens: [String], vocabulary: [String: Int32], merges mergeList: [(String, String)],
                 startOfText: Int32, endOfText: Int32) {
        // Intern every string BPE can produce (byte characters, merge parts and results) as a symbol id.
        var symbolIndex = [String: Int32](minimumCapacity: 512 + mergeList.count * 2)
        var symbols = [String]()
        symbols.reserveCapacity(512 + mergeList.count * 2)
        func intern(_ string: String) -> Int32 {
            if let s = symbolIndex[string] { return s }
            let s = Int32(symbols.count)
            symbolIndex[string] = s
            symbols.append(string)
            return s
        }
        var symbolOfByte = [Int32](repeating: 0, count: 256)
        var symbolOfFinalByte = [Int32](repeating: 0, count: 256)
        for byte in 0..<256 {
            let character = String(Character(ByteLevelAlphabet.scalarOfByte[byte]))
            symbolOfByte[byte] = intern(character)
            symbolOfFinalByte[byte] = intern(character + "</w>")
        }
        var merges = [UInt64: UInt64](minimumCapacity: mergeList.count)
        for (rank, (left, right)) in mergeList.enumerated() {
            let key = Self.pairKey(intern(left), intern(right))
            merges[key] = UInt64(rank) << 32 | UInt64(UInt32(intern(left + right)))  // a repeated pair keeps its last rank, as in Python
        }

        self.tokens = tokens
        self.startOfText = startOfText
        self.endOfText = endOfText
        self.symbolOfByte = symbolOfByte
        self.symbolOfFinalByte = symbolOfFinalByte
        self.merges = merges
        self.idOfSymbol = symbols.map { vocabulary[$0] ?? endOfText }
        self.cache = Self.specialTokenCache(startOfText: startOfText, endOfText: endOfText)
    }

    /// The two specials bypass BPE, as in `SimpleTokenizer.cache`.
    private static func specialTokenCache(startOfText: Int32, endOfText: Int32) -> [[UInt8]: [Int32]] {
        [Array(startOfTextToken.utf8): [startOfText], Array(endOfTextToken.utf8): [endOfText]]
    }

    @inline(__always) private static func pairKey(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(left)) << 32 | UInt64(UInt32(right))
    }

    // MARK: encoding

    /// Token ids of `text` without `<|startoftext|>` / `<|endoftext|>` (simple_tokenizer's `encode`).
    public func encode(_ text: String) -> [Int32] {
        let cleaned = TextCleaner.clean(text)
        var ids = [Int32]()
        ids.reserveCapacity(cleaned.count / 3 + 1)
        var piece = [UInt8]()
        PreTokenizer.forEachPiece(in: cleaned) { range in
            piece.removeAll(keepingCapacity: true)
            for c in cleaned[range] { UTF8.encode(c) { piece.append($0) } }
            ids.append(contentsOf: bpe(piece))
        }
        return ids
    }

    /// `[SOT] + encode(text) + [EOT]`, zero padded to `contextLength` (OpenAI's `clip.tokenize`). When it
    /// does not fit, `truncate` keeps the first `contextLength` ids with the last one set to EOT;
    /// otherwise it throws `TokenizerError.textTooLong`.
    public func tokenize(_ text: String, contextLength: Int = 77, truncate: Bool = true) throws -> [Int32] {
        guard contextLength >= 1 else { throw TokenizerError.invalidContextLength(contextLength) }
        var ids = [startOfText] + encode(text) + [endOfText]
        if ids.count > contextLength {
            guard truncate else { throw TokenizerError.textTooLong(text: text, tokens: ids.count, contextLength: contextLength) }
            ids.removeLast(ids.count - contextLength)
            ids[contextLength - 1] = endOfText
        }
        return ids + [Int32](repeating: 0, count: contextLength - ids.count)
    }

    /// `tokenize` for each text; rows of `contextLength` ids.
    public func tokenize(_ texts: [String], contextLength: Int = 77, truncate: Bool = true) throws -> [[Int32]] {
        try texts.map { try tokenize($0, contextLength: contextLength, truncate: truncate) }
    }

    /// BPE of one split piece (its UTF-8 bytes) → ids; `SimpleTokenizer.bpe` plus the encoder lookup.
    private func bpe(_ piece: [UInt8]) -> [Int32] {
        cacheLock.lock()
        let hit = cache[piece]
        cacheLock.unlock()
        if let hit { return hit }

        // [n] symbols; the last byte carries "</w>".
        var word = [Int32](repeating: 0, count: piece.count)
        for k in 0..<piece.count {
            word[k] = k == piece.count - 1 ? symbolOfFinalByte[Int(piece[k])] : symbolOfByte[Int(piece[k])]
        }
        var count = word.count
        while count > 1 {
            // Lowest-ranked adjacent pair (rank is in the high bits, so the smallest value wins).
            var best = UInt64.max
            var left: Int32 = -1, right: Int32 = -1
            for k in 0..<(count - 1) {
                if let merge = merges[Self.pairKey(word[k], word[k + 1])], merge < best {
                    best = merge
                    left = word[k]
                    right = word[k + 1]
                }
            }
            if best == UInt64.max { break }
            let merged = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
            // Merge every non-overlapping occurrence, left to right.
            var read = 0, write = 0
            while read < count {
                if read + 1 < count && word[read] == left && word[read + 1] == right {
                    word[write] = merged
                    read += 2
                } else {
                    word[write] = word[read]
                    read += 1
                }
                write += 1
            }
            count = write
        }
        let ids = (0..<count).map { idOfSymbol[Int(word[$0])] }

        cacheLock.lock()
        if cache.count >= Self.cacheCapacity { cache = Self.specialTokenCache(startOfText: startOfText, endOfText: endOfText) }
        cache[piece] = ids
        cacheLock.unlock()
        return ids
    }

    // MARK: decoding

    /// The vocabulary string of `id`, e.g. "photo</w>" (`SimpleTokenizer.decoder[id]`); "" for an unknown id.
    public func tokenString(_ id: Int32) -> String {
        id >= 0 && Int(id) < tokens.count ? tokens[Int(id)] : ""
    }

    /// Text of `ids` as `SimpleTokenizer.decode`: concatenate the token strings, map the byte characters
    /// back to bytes, decode UTF-8 (invalid sequences → U+FFFD) and turn each "</w>" into a space.
    /// Unknown ids are skipped; characters outside the byte alphabet (custom vocabularies) keep their UTF-8.
    public func decode(_ ids: [Int32]) -> String {
        var bytes = [UInt8]()
        for id in ids where id >= 0 && Int(id) < tokens.count {
            for c in tokens[Int(id)].unicodeScalars {
                if let b = ByteLevelAlphabet.byte(of: c) { bytes.append(b) } else { UTF8.encode(c) { bytes.append($0) } }
            }
        }
        // "</w>" → " " on the bytes: it is ASCII, so this equals replacing after decoding.
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var k = 0
        while k < bytes.count {
            if k + 3 < bytes.count && bytes[k] == 0x3C && bytes[k + 1] == 0x2F && bytes[k + 2] == 0x77 && bytes[k + 3] == 0x3E {
                out.append(0x20)
                k += 4
            } else {
                out.append(bytes[k])
                k += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
