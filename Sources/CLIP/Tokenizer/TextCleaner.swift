import Foundation

/// CLIP's text normalisation before the split, as simple_tokenizer.py does it:
/// `whitespace_clean(basic_clean(text)).lower()` = `ftfy.fix_text` → `html.unescape` twice →
/// `" ".join(text.split())` → Python `str.lower()`. Works on Unicode scalars (never on grapheme
/// clusters, so "\r\n" is two scalars as in Python). Used by `BPETokenizer.encode`.
///
/// `ftfy.fix_text` (ftfy 6.3, default configuration) is reproduced step for step — per line segment,
/// repeated until nothing changes, with ftfy's HTML unescaping switched off from the first segment that
/// contains "<" onwards — except for **mojibake repair** (`fix_encoding`: detecting text that was
/// decoded with the wrong codec, `restore_byte_a0`, `replace_lossy_sequences`,
/// `decode_inconsistent_utf8`), which relies on ftfy's statistical "badness" heuristic and is not done.
/// Text such as "cafÃ©" therefore stays as it is instead of becoming "café". `fix_surrogates` has no
/// counterpart because a Swift String cannot hold lone surrogates. HTML entities: see `HTMLEntities`.
enum TextCleaner {
    /// The cleaned, lower-cased text as scalars.
    static func clean(_ text: String) -> [Unicode.Scalar] {
        var s = fixText(Array(text.unicodeScalars))
        s = HTMLEntities.unescape(HTMLEntities.unescape(s))
        s = collapseWhitespace(s)
        return pythonLowercased(s)
    }

    // MARK: ftfy.fix_text

    /// ftfy's `max_decode_length`: longer lines are fixed in pieces of this many code points.
    private static let maxSegmentLength = 1_000_000

    static func fixText(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out = [Unicode.Scalar]()
        out.reserveCapacity(text.count)
        var unescapeHTML = true
        var start = 0
        while start < text.count {
            var end = start
            while end < text.count && text[end] != "\n" { end += 1 }
            end = min(end + 1, text.count, start + maxSegmentLength)
            let segment = Array(text[start..<end])
            if unescapeHTML && segment.contains("<") { unescapeHTML = false }
            out.append(contentsOf: fixSegment(segment, unescapeHTML: unescapeHTML))
            start = end
        }
        return out
    }

    /// ftfy's `fix_and_explain` loop for one segment.
    private static func fixSegment(_ segment: [Unicode.Scalar], unescapeHTML: Bool) -> [Unicode.Scalar] {
        var text = segment
        while true {
            let original = text
            if unescapeHTML { text = HTMLEntities.ftfyUnescape(text) }
            text = mapScalars(text)              // fix_c1_controls, fix_latin_ligatures, fix_character_width, uncurl_quotes
            text = fixLineBreaks(text)
            text = removeTerminalEscapes(text)
            text = removeControlCharacters(text)
            text = nfc(text)
            if text == original { return text }
        }
    }

    /// The four per-character fixers, in ftfy's order, fused into one pass.
    private static func mapScalars(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out = [Unicode.Scalar]()
        out.reserveCapacity(s.count)
        for c in s {
            if c.value < 0x80 { out.append(c); continue }
            // fix_c1_controls: C1 controls are read as Windows-1252.
            let fixed = (0x80...0x9F).contains(c.value) ? Windows1252.scalar(forC1: c.value) : c
            // fix_latin_ligatures, then fix_character_width on each resulting character.
            for l in latinLigatures[fixed.value]?.unicodeScalars.map({ $0 }) ?? [fixed] {
                for w in characterWidth[l.value] ?? [l] { out.append(uncurled(w)) }
            }
        }
        return out
    }

    /// uncurl_quotes: U+02BC and U+2018–U+201B → "'", U+201C–U+201F → "\"".
    @inline(__always) private static func uncurled(_ c: Unicode.Scalar) -> Unicode.Scalar {
        if c.value == 0x02BC || (0x2018...0x201B).contains(c.value) { return "'" }
        if (0x201C...0x201F).contains(c.value) { return "\"" }
        return c
    }

    /// ftfy's LIGATURES table.
    private static let latinLigatures: [UInt32: String] = [
        0x0132: "IJ", 0x0133: "ij", 0x0149: "\u{02BC}n", 0x01F1: "DZ", 0x01F2: "Dz", 0x01F3: "dz",
        0x01C4: "D\u{017D}", 0x01C5: "D\u{017E}", 0x01C6: "d\u{017E}", 0x01C7: "LJ", 0x01C8: "Lj", 0x01C9: "lj",
        0x01CA: "NJ", 0x01CB: "Nj", 0x01CC: "nj", 0xFB00: "ff", 0xFB01: "fi", 0xFB02: "fl", 0xFB03: "ffi",
        0xFB04: "ffl", 0xFB05: "\u{017F}t", 0xFB06: "st",
    ]

    /// ftfy's WIDTH_MAP: U+3000 → space, and every U+FF01…U+FFEF whose NFKC form differs → that form.
    private static let characterWidth: [UInt32: [Unicode.Scalar]] = {
        var table: [UInt32: [Unicode.Scalar]] = [0x3000: [" "]]
        for value in UInt32(0xFF01)..<0xFFF0 {
            guard let c = Unicode.Scalar(value) else { continue }
            let nfkc = Array(String(Character(c)).precomposedStringWithCompatibilityMapping.unicodeScalars)
            if nfkc != [c] { table[value] = nfkc }
        }
        return table
    }()

    /// fix_line_breaks: "\r\n", "\r", U+2028, U+2029 and U+0085 → "\n".
    private static func fixLineBreaks(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out = [Unicode.Scalar]()
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            let c = s[i]
            if c == "\r" {
                out.append("\n")
                if i + 1 < s.count && s[i + 1] == "\n" { i += 1 }
            } else if c == "\u{2028}" || c == "\u{2029}" || c == "\u{85}" {
                out.append("\n")
            } else {
                out.append(c)
            }
            i += 1
        }
        return out
    }

    /// remove_terminal_escapes: `ESC [ (\d|;)* [a-zA-Z]` (\d = any Unicode decimal digit).
    private static func removeTerminalEscapes(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard s.contains("\u{1B}") else { return s }
        var out = [Unicode.Scalar]()
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            if s[i] == "\u{1B}" && i + 1 < s.count && s[i + 1] == "[" {
                var k = i + 2
                while k < s.count && (s[k] == ";" || s[k].properties.generalCategory == .decimalNumber) { k += 1 }
                if k < s.count && ((s[k] >= "a" && s[k] <= "z") || (s[k] >= "A" && s[k] <= "Z")) {
                    i = k + 1
                    continue
                }
            }
            out.append(s[i])
            i += 1
        }
        return out
    }

    /// remove_control_chars: U+0000–0008, 000B, 000E–001F, 007F, 206A–206F, FEFF, FFF9–FFFC.
    private static func removeControlCharacters(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        s.filter { c in
            let v = c.value
            return !(v <= 0x08 || v == 0x0B || (0x0E...0x1F).contains(v) || v == 0x7F
                || (0x206A...0x206F).contains(v) || v == 0xFEFF || (0xFFF9...0xFFFC).contains(v))
        }
    }

    /// Unicode NFC. Text below U+0300 is always in NFC (no combining marks, no composites to form).
    private static func nfc(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        if s.allSatisfy({ $0.value < 0x300 }) { return s }
        let string = String(String.UnicodeScalarView(s))
        return Array(string.precomposedStringWithCanonicalMapping.unicodeScalars)
    }

    // MARK: whitespace and case

    /// Python `str.isspace()`: bidirectional class WS, B or S, or category Zs.
    @inline(__always) static func isPythonSpace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// `" ".join(text.split())`: runs of whitespace become one space, none at either end.
    private static func collapseWhitespace(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out = [Unicode.Scalar]()
        out.reserveCapacity(s.count)
        var pendingSpace = false
        for c in s {
            if isPythonSpace(c) {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(" ") }
                pendingSpace = false
                out.append(c)
            }
        }
        return out
    }

    /// Python `str.lower()`: full lower-case mapping, with Σ → ς in the Final_Sigma context.
    static func pythonLowercased(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out = [Unicode.Scalar]()
        out.reserveCapacity(s.count)
        for i in s.indices {
            let c = s[i]
            if c.value < 0x80 {
                out.append(c >= "A" && c <= "Z" ? Unicode.Scalar(c.value + 32)! : c)
            } else if c == "\u{03A3}" {
                out.append(isFinalSigma(s, at: i) ? "\u{03C2}" : "\u{03C3}")
            } else {
                out.append(contentsOf: c.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return out
    }

    /// CPython's `handle_capital_sigma`: preceded by a cased letter (skipping case-ignorable ones) and
    /// not followed by one.
    private static func isFinalSigma(_ s: [Unicode.Scalar], at i: Int) -> Bool {
        var j = i - 1
        while j >= 0 && s[j].properties.isCaseIgnorable { j -= 1 }
        guard j >= 0 && s[j].properties.isCased else { return false }
        j = i + 1
        while j < s.count && s[j].properties.isCaseIgnorable { j += 1 }
        return j == s.count || !s[j].properties.isCased
    }
}
