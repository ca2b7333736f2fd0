import Foundation

/// Errors thrown while loading a CLIP BPE vocabulary or tokenizing text; each message is one line
/// naming the file (or text) and what to do. Thrown by `BPETokenizer`.
public enum TokenizerError: Error, CustomStringConvertible, LocalizedError {
    /// The directory has neither `bpe_simple_vocab_16e6.txt.gz` nor `vocab.json` + `merges.txt`.
    case vocabularyNotFound(directory: String)
    /// A vocabulary file is missing or cannot be read.
    case unreadableFile(path: String, reason: String)
    /// A vocabulary file exists but its content is not what the format requires.
    case corruptFile(path: String, reason: String)
    /// A special token (`<|startoftext|>` / `<|endoftext|>`) is not in the vocabulary.
    case missingSpecialToken(String)
    /// A vocabulary passed in code has an id that cannot index the embedding table.
    case invalidTokenID(token: String, id: Int32)
    /// `tokenize(truncate: false)` got a text whose tokens do not fit the context.
    case textTooLong(text: String, tokens: Int, contextLength: Int)
    /// The requested context length cannot hold a token.
    case invalidContextLength(Int)

    public var description: String {
        switch self {
        case .vocabularyNotFound(let directory):
            return "no CLIP tokenizer vocabulary in \(directory): expected bpe_simple_vocab_16e6.txt.gz or vocab.json + merges.txt"
        case .unreadableFile(let path, let reason):
            return "cannot read tokenizer file \(path): \(reason)"
        case .corruptFile(let path, let reason):
            return "corrupt tokenizer file \(path): \(reason); replace it with an intact copy"
        case .missingSpecialToken(let token):
            return "tokenizer vocabulary has no \(token) entry; add it to vocab.json"
        case .invalidTokenID(let token, let id):
            return "tokenizer vocabulary maps \"\(token.prefix(40))\" to id \(id); ids must be in 0..<\(BPETokenizer.maximumTokenID)"
        case .textTooLong(let text, let tokens, let contextLength):
            let shown = text.count > 60 ? String(text.prefix(60)) + "…" : text
            return "text \"\(shown)\" is \(tokens) tokens, longer than the context length \(contextLength); shorten it or tokenize with truncate: true"
        case .invalidContextLength(let n):
            return "context length \(n) cannot hold a token; use a context length of at least 1 (CLIP uses 77)"
        }
    }

    public var errorDescription: String? { description }
}
