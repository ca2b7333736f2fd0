/// CLIP's split of cleaned text into words before BPE: a hand-written scanner equivalent to Python
/// `regex.findall` with IGNORECASE on
/// `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`.
/// At each position the first alternative that matches wins; whitespace between matches is skipped.
/// Used by `BPETokenizer.encode`.
///
/// Classes come from `Unicode.Scalar.Properties.generalCategory` (L* letters, N* numbers); `\s` is the
/// regex module's White_Space set (Python `str.isspace()` minus U+001C–U+001F, which cleaning removes
/// anyway). Under IGNORECASE the only non-ASCII scalar equal to a letter of these literals is "ſ"
/// (U+017F, folds to "s"); the property classes are unaffected (checked over all code points).
enum PreTokenizer {
    /// Calls `body` with the index range of each piece, left to right.
    static func forEachPiece(in s: [Unicode.Scalar], _ body: (Range<Int>) -> Void) {
        var i = 0
        let n = s.count
        while i < n {
            let c = s[i]
            if c == "<", let end = matchSpecial(s, at: i) {
                body(i..<end)
                i = end
                continue
            }
            if c == "'", let end = matchContraction(s, at: i) {
                body(i..<end)
                i = end
                continue
            }
            switch characterClass(c) {
            case .letter:
                var end = i + 1
                while end < n && characterClass(s[end]) == .letter { end += 1 }
                body(i..<end)
                i = end
            case .number:
                body(i..<(i + 1))
                i += 1
            case .other:
                var end = i + 1
                while end < n && characterClass(s[end]) == .other { end += 1 }
                body(i..<end)
                i = end
            case .space:
                i += 1
            }
        }
    }

    enum CharacterClass { case letter, number, space, other }

    @inline(__always) static func characterClass(_ c: Unicode.Scalar) -> CharacterClass {
        let v = c.value
        if v < 0x80 {
            if (v >= 0x61 && v <= 0x7A) || (v >= 0x41 && v <= 0x5A) { return .letter }
            if v >= 0x30 && v <= 0x39 { return .number }
            if (v >= 0x09 && v <= 0x0D) || v == 0x20 { return .space }
            return .other
        }
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return TextCleaner.isPythonSpace(c) ? .space : .other
        }
    }

    private static let specials: [[Unicode.Scalar]] = ["<|startoftext|>", "<|endoftext|>"].map { Array($0.unicodeScalars) }
    private static let contractions: [[Unicode.Scalar]] = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"].map { Array($0.unicodeScalars) }

    private static func matchSpecial(_ s: [Unicode.Scalar], at i: Int) -> Int? {
        for literal in specials where matches(s, at: i, literal) { return i + literal.count }
        return nil
    }

    private static func matchContraction(_ s: [Unicode.Scalar], at i: Int) -> Int? {
        for literal in contractions where matches(s, at: i, literal) { return i + literal.count }
        return nil
    }

    /// Case-insensitive comparison of `s[i...]` with an ASCII literal, as the regex module folds case.
    private static func matches(_ s: [Unicode.Scalar], at i: Int, _ literal: [Unicode.Scalar]) -> Bool {
        guard i + literal.count <= s.count else { return false }
        for (k, l) in literal.enumerated() {
            let c = s[i + k]
            if c == l { continue }
            if l >= "a" && l <= "z" && (c.value == l.value - 32 || (l == "s" && c == "\u{017F}")) { continue }
            return false
        }
        return true
    }
}
