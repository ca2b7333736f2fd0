import CLIP

/// Where CoOp places the class name relative to the learned context (`CLASS_TOKEN_POSITION`).
public enum ClassTokenPosition: String, Codable, CaseIterable {
    case end, middle, front
}

/// The source of one embedding row of a prompt: a fixed token's embedding or learned context
/// vector `m` (of the prompt's own class when the context is class-specific).
public enum PromptRow: Equatable {
    case token(Int32)
    case context(Int)
}

/// The row-by-row recipe of every class prompt, split into a prefix shared by all classes and a
/// per-class suffix (docs/DESIGN.md "Shared prefix"), assembled exactly as the official PromptLearner
/// does (docs/DESIGN.md "Prompt assembly"): tokenise `"<prefix words> <name>."`, keep SOT, put context where the prefix
/// words were, and for `middle`/`front` move the name's tokens. Built once per class set; the
/// CoOp and CoCoOp learners read it every step.
public struct PromptLayout {
    public let contextLength: Int
    public let position: ClassTokenPosition
    public let classSpecific: Bool
    /// Rows every class shares: SOT and the leading context vectors.
    public let prefix: [PromptRow]
    /// Per class: the remaining rows up to and including EOT (padding after EOT is never needed).
    public let suffixes: [[PromptRow]]
    /// Number of BPE tokens of each class name (`name_lens`).
    public let nameLengths: [Int]
    /// The init phrase's token ids (one per context vector from `initSlot` on) when initialised from a phrase.
    public let initTokens: [Int32]?
    /// The context vector the first init token goes to; the ones before it start at zero (ProGrad).
    public let initSlot: Int

    /// - Parameters:
    ///   - contextLength: M; ignored when `initPhrase` is given (M = its word count, as the official
    ///     code), unless `alignPhraseRight`.
    ///   - alignPhraseRight: ProGrad's init (`trainers/prograd.py`): M stays, the phrase's first k tokens
    ///     (k = its word count) fill the last k context vectors, the first M − k are zero, and the prompt
    ///     is tokenised as `"X … X <phrase> <name>."`, so tokens of the phrase beyond k stay fixed words.
    public init(tokenizer: BPETokenizer, classnames: [String], contextLength: Int, position: ClassTokenPosition,
                classSpecific: Bool, initPhrase: String?, alignPhraseRight: Bool = false, maxTokens: Int = 77) throws {
        var M = contextLength
        var prefixText = Array(repeating: "X", count: M).joined(separator: " ")
        var initTokens: [Int32]?
        var initSlot = 0
        if let phrase = initPhrase?.replacingOccurrences(of: "_", with: " ") {
            let words = phrase.split(separator: " ").count
            if alignPhraseRight {
                guard words <= M else {
                    throw PromptError.invalid("init phrase \"\(phrase)\" has \(words) words, more than the \(M) context vectors")
                }
                initSlot = M - words
                prefixText = (Array(repeating: "X", count: M - words) + [phrase]).joined(separator: " ")
            } else {
                M = words
                prefixText = phrase
            }
            let ids = tokenizer.encode(phrase)
            guard ids.count >= words else {
                throw PromptError.invalid("init phrase \"\(phrase)\" has \(words) words but only \(ids.count) tokens; use a phrase of whole words")
            }
            initTokens = Array(ids.prefix(words))
        }
        guard M >= 1 else { throw PromptError.invalid("context length must be at least 1 (got \(M))") }
        var tails: [[Int32]] = []
        var nameLengths: [Int] = []
        for name in classnames {
            let display = name.replacingOccurrences(of: "_", with: " ")
            let ids = tokenizer.encode(prefixText + " " + display + ".")
            guard ids.count + 2 <= maxTokens else {
                throw PromptError.invalid("prompt for class \"\(display)\" needs \(ids.count + 2) tokens, more than \(maxTokens); shorten the class name or the context")
            }
            // the tokens after the prefix words: name, "." (a name ending in punctuation may merge with it), EOT
            tails.append(Array(ids.dropFirst(M)) + [tokenizer.endOfText])
            nameLengths.append(tokenizer.encode(display).count)
        }
        self.init(startOfText: tokenizer.startOfText, tails: tails, nameLengths: nameLengths, contextLength: M,
                  position: position, classSpecific: classSpecific, initTokens: initTokens, initSlot: initSlot)
    }

    /// The layout from already tokenised pieces: `tails[k]` are class k's tokens after the context
    /// words (name, ".", EOT) and `nameLengths[k]` how many of them are the name.
    public init(startOfText: Int32, tails: [[Int32]], nameLengths: [Int], contextLength M: Int,
                position: ClassTokenPosition, classSpecific: Bool, initTokens: [Int32]? = nil, initSlot: Int = 0) {
        precondition(initSlot >= 0 && initSlot + (initTokens?.count ?? 0) <= M, "init tokens beyond the context")
        self.contextLength = M
        self.position = position
        self.classSpecific = classSpecific
        self.initTokens = initTokens
        self.initSlot = initSlot
        self.nameLengths = nameLengths
        let half = M / 2
        let sot = PromptRow.token(startOfText)
        let prefix: [PromptRow]
        switch (position, classSpecific) {
        case (.end, false): prefix = [sot] + (0..<M).map(PromptRow.context)
        case (.middle, false): prefix = [sot] + (0..<half).map(PromptRow.context)
        default: prefix = [sot]
        }
        self.prefix = prefix
        let context = (0..<M).map(PromptRow.context)
        suffixes = zip(tails, nameLengths).map { tail, nameLength in
            let after = tail.map(PromptRow.token)
            let name = Array(after.prefix(nameLength)), rest = Array(after.dropFirst(nameLength))
            let full: [PromptRow]   // the whole prompt after SOT
            switch position {
            case .end: full = context + after
            case .middle: full = Array(context[..<half]) + name + Array(context[half...]) + rest
            case .front: full = name + context + rest
            }
            return Array(full.dropFirst(prefix.count - 1))
        }
    }
}

/// A prompt or learner set-up the user asked for that cannot be built.
public enum PromptError: Error, CustomStringConvertible {
    case invalid(String)
    public var description: String {
        switch self { case .invalid(let m): return m }
    }
}
