/// HTML character references as CLIP's cleaning decodes them: Python's `html.unescape` (applied twice
/// by simple_tokenizer.py) and ftfy's `unescape_html` (inside `ftfy.fix_text`). Used by `TextCleaner`.
///
/// Numeric references are decoded in full generality, exactly as Python does. Named references use
/// the HTML 4 entity set (252 names plus `apos`), every legacy name that HTML5 allows without a
/// semicolon (so Python's longest-prefix rule for `&ampx`, `&copy2`… is exact), and ftfy's
/// upper-case forms of those names (`&EACUTE;` → "É"). Not done: the ~1,900 HTML5-only names
/// (`&checkmark;`, `&HilbertSpace;`…); they stay as literal text.
enum HTMLEntities {
    /// Python's `html.unescape(s)`.
    static func unescape(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard s.contains("&") else { return s }
        var out = [Unicode.Scalar]()
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            guard s[i] == "&", let (end, replacement) = pythonCharref(s, at: i + 1) else {
                out.append(s[i])
                i += 1
                continue
            }
            out.append(contentsOf: replacement)
            i = end
        }
        return out
    }

    /// ftfy's `unescape_html`: only `&#?[0-9A-Za-z]{1,24};` references; a numeric one is decoded only when
    /// `html.unescape` consumes it whole (and does not give ";"), a named one only if it is in the table.
    static func ftfyUnescape(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard s.contains("&") else { return s }
        var out = [Unicode.Scalar]()
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            guard s[i] == "&", let end = ftfyReferenceEnd(s, at: i) else {
                out.append(s[i])
                i += 1
                continue
            }
            let body = s[(i + 1)..<end]  // without "&", with the final ";"
            if let named = html5[String(String.UnicodeScalarView(body))] ?? ftfyUppercase[String(String.UnicodeScalarView(body))] {
                out.append(contentsOf: named.unicodeScalars)
            } else if body.first == "#", let (charrefEnd, decoded) = pythonCharref(s, at: i + 1),
                      charrefEnd == end, decoded != [";"] {
                out.append(contentsOf: decoded)
            } else {
                out.append(contentsOf: s[i..<end])
            }
            i = end
        }
        return out
    }

    /// End index (exclusive) of a `&#?[0-9A-Za-z]{1,24};` match starting at the "&" at `i`, or nil.
    private static func ftfyReferenceEnd(_ s: [Unicode.Scalar], at i: Int) -> Int? {
        var j = i + 1
        if j < s.count && s[j] == "#" { j += 1 }
        var k = j
        while k < s.count && isASCIIAlphanumeric(s[k]) { k += 1 }
        let run = k - j
        guard run >= 1 && run <= 24 && k < s.count && s[k] == ";" else { return nil }
        return k + 1
    }

    /// Python `html._charref` match starting just after an "&" (at `start`), and its replacement.
    /// Pattern: `&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)`.
    private static func pythonCharref(_ s: [Unicode.Scalar], at start: Int) -> (end: Int, replacement: [Unicode.Scalar])? {
        guard start < s.count else { return nil }
        if s[start] == "#" {
            var k = start + 1
            var radix: UInt32 = 10
            if k < s.count && !isDigit(s[k], radix: 10) && (s[k] == "x" || s[k] == "X") {
                radix = 16
                k += 1
            }
            let digitsStart = k
            var value: UInt32 = 0  // saturates above 0x10FFFF; only "too large" matters then
            while k < s.count && isDigit(s[k], radix: radix) {
                value = min(value &* radix &+ digitValue(s[k]), 0x11_0000)
                k += 1
            }
            guard k > digitsStart else { return nil }
            if k < s.count && s[k] == ";" { k += 1 }
            return (k, numericReplacement(value))
        }
        var k = start
        while k < s.count && k - start < 32 && !isNameStop(s[k]) { k += 1 }
        guard k > start else { return nil }
        if k < s.count && s[k] == ";" { k += 1 }
        let name = s[start..<k]
        if let value = html5[String(String.UnicodeScalarView(name))] {
            return (k, Array(value.unicodeScalars))
        }
        // Longest prefix (at least 2 characters) that is an entity, followed by the rest as text.
        var length = name.count - 1
        while length >= 2 {
            let prefix = name.prefix(length)
            if let value = html5[String(String.UnicodeScalarView(prefix))] {
                return (k, Array(value.unicodeScalars) + name.dropFirst(length))
            }
            length -= 1
        }
        return (k, ["&"] + name)
    }

    /// Python's rules for `&#NNN;`: Windows-1252 for 0x80–0x9F (and 0, 13), U+FFFD for surrogates and
    /// values above U+10FFFF, nothing for the remaining C0/C1 controls and non-characters.
    private static func numericReplacement(_ value: UInt32) -> [Unicode.Scalar] {
        if value == 0 { return ["\u{FFFD}"] }
        if value == 0x0D { return ["\r"] }
        if (0x80...0x9F).contains(value) { return [Windows1252.scalar(forC1: value)] }
        if (0xD800...0xDFFF).contains(value) || value > 0x10_FFFF { return ["\u{FFFD}"] }
        let invalid = (0x01...0x08).contains(value) || value == 0x0B || (0x0E...0x1F).contains(value)
            || (0x7F...0x9F).contains(value) || (0xFDD0...0xFDEF).contains(value) || (value & 0xFFFE) == 0xFFFE
        return invalid ? [] : [Unicode.Scalar(value)!]
    }

    @inline(__always) private static func isNameStop(_ c: Unicode.Scalar) -> Bool {
        c == "\t" || c == "\n" || c == "\u{0C}" || c == " " || c == "<" || c == "&" || c == "#" || c == ";"
    }

    @inline(__always) private static func isASCIIAlphanumeric(_ c: Unicode.Scalar) -> Bool {
        (c >= "0" && c <= "9") || (c >= "a" && c <= "z") || (c >= "A" && c <= "Z")
    }

    @inline(__always) private static func isDigit(_ c: Unicode.Scalar, radix: UInt32) -> Bool {
        if c >= "0" && c <= "9" { return true }
        return radix == 16 && ((c >= "a" && c <= "f") || (c >= "A" && c <= "F"))
    }

    @inline(__always) private static func digitValue(_ c: Unicode.Scalar) -> UInt32 {
        if c >= "0" && c <= "9" { return c.value - 48 }
        if c >= "a" && c <= "f" { return c.value - 87 }
        return c.value - 55
    }

    /// Entity names (as in Python's `html.entities.html5`: with ";" and the legacy forms without) → text.
    static let html5: [String: String] = [
        "AElig": "\u{C6}", "AElig;": "\u{C6}", "AMP": "\u{26}", "AMP;": "\u{26}",
        "Aacute": "\u{C1}", "Aacute;": "\u{C1}", "Acirc": "\u{C2}", "Acirc;": "\u{C2}",
        "Agrave": "\u{C0}", "Agrave;": "\u{C0}", "Alpha;": "\u{391}", "Aring": "\u{C5}",
        "Aring;": "\u{C5}", "Atilde": "\u{C3}", "Atilde;": "\u{C3}", "Auml": "\u{C4}",
        "Auml;": "\u{C4}", "Beta;": "\u{392}", "COPY": "\u{A9}", "COPY;": "\u{A9}",
        "Ccedil": "\u{C7}", "Ccedil;": "\u{C7}", "Chi;": "\u{3A7}", "Dagger;": "\u{2021}",
        "Delta;": "\u{394}", "ETH": "\u{D0}", "ETH;": "\u{D0}", "Eacute": "\u{C9}",
        "Eacute;": "\u{C9}", "Ecirc": "\u{CA}", "Ecirc;": "\u{CA}", "Egrave": "\u{C8}",
        "Egrave;": "\u{C8}", "Epsilon;": "\u{395}", "Eta;": "\u{397}", "Euml": "\u{CB}",
        "Euml;": "\u{CB}", "GT": "\u{3E}", "GT;": "\u{3E}", "Gamma;": "\u{393}",
        "Iacute": "\u{CD}", "Iacute;": "\u{CD}", "Icirc": "\u{CE}", "Icirc;": "\u{CE}",
        "Igrave": "\u{CC}", "Igrave;": "\u{CC}", "Iota;": "\u{399}", "Iuml": "\u{CF}",
        "Iuml;": "\u{CF}", "Kappa;": "\u{39A}", "LT": "\u{3C}", "LT;": "\u{3C}",
        "Lambda;": "\u{39B}", "Mu;": "\u{39C}", "Ntilde": "\u{D1}", "Ntilde;": "\u{D1}",
        "Nu;": "\u{39D}", "OElig;": "\u{152}", "Oacute": "\u{D3}", "Oacute;": "\u{D3}",
        "Ocirc": "\u{D4}", "Ocirc;": "\u{D4}", "Ograve": "\u{D2}", "Ograve;": "\u{D2}",
        "Omega;": "\u{3A9}", "Omicron;": "\u{39F}", "Oslash": "\u{D8}", "Oslash;": "\u{D8}",
        "Otilde": "\u{D5}", "Otilde;": "\u{D5}", "Ouml": "\u{D6}", "Ouml;": "\u{D6}",
        "Phi;": "\u{3A6}", "Pi;": "\u{3A0}", "Prime;": "\u{2033}", "Psi;": "\u{3A8}",
        "QUOT": "\u{22}", "QUOT;": "\u{22}", "REG": "\u{AE}", "REG;": "\u{AE}",
        "Rho;": "\u{3A1}", "Scaron;": "\u{160}", "Sigma;": "\u{3A3}", "THORN": "\u{DE}",
        "THORN;": "\u{DE}", "Tau;": "\u{3A4}", "Theta;": "\u{398}", "Uacute": "\u{DA}",
        "Uacute;": "\u{DA}", "Ucirc": "\u{DB}", "Ucirc;": "\u{DB}", "Ugrave": "\u{D9}",
        "Ugrave;": "\u{D9}", "Upsilon;": "\u{3A5}", "Uuml": "\u{DC}", "Uuml;": "\u{DC}",
        "Xi;": "\u{39E}", "Yacute": "\u{DD}", "Yacute;": "\u{DD}", "Yuml;": "\u{178}",
        "Zeta;": "\u{396}", "aacute": "\u{E1}", "aacute;": "\u{E1}", "acirc": "\u{E2}",
        "acirc;": "\u{E2}", "acute": "\u{B4}", "acute;": "\u{B4}", "aelig": "\u{E6}",
        "aelig;": "\u{E6}", "agrave": "\u{E0}", "agrave;": "\u{E0}", "alefsym;": "\u{2135}",
        "alpha;": "\u{3B1}", "amp": "\u{26}", "amp;": "\u{26}", "and;": "\u{2227}",
        "ang;": "\u{2220}", "apos;": "\u{27}", "aring": "\u{E5}", "aring;": "\u{E5}",
        "asymp;": "\u{2248}", "atilde": "\u{E3}", "atilde;": "\u{E3}", "auml": "\u{E4}",
        "auml;": "\u{E4}", "bdquo;": "\u{201E}", "beta;": "\u{3B2}", "brvbar": "\u{A6}",
        "brvbar;": "\u{A6}", "bull;": "\u{2022}", "cap;": "\u{2229}", "ccedil": "\u{E7}",
        "ccedil;": "\u{E7}", "cedil": "\u{B8}", "cedil;": "\u{B8}", "cent": "\u{A2}",
        "cent;": "\u{A2}", "chi;": "\u{3C7}", "circ;": "\u{2C6}", "clubs;": "\u{2663}",
        "cong;": "\u{2245}", "copy": "\u{A9}", "copy;": "\u{A9}", "crarr;": "\u{21B5}",
        "cup;": "\u{222A}", "curren": "\u{A4}", "curren;": "\u{A4}", "dArr;": "\u{21D3}",
        "dagger;": "\u{2020}", "darr;": "\u{2193}", "deg": "\u{B0}", "deg;": "\u{B0}",
        "delta;": "\u{3B4}", "diams;": "\u{2666}", "divide": "\u{F7}", "divide;": "\u{F7}",
        "eacute": "\u{E9}", "eacute;": "\u{E9}", "ecirc": "\u{EA}", "ecirc;": "\u{EA}",
        "egrave": "\u{E8}", "egrave;": "\u{E8}", "empty;": "\u{2205}", "emsp;": "\u{2003}",
        "ensp;": "\u{2002}", "epsilon;": "\u{3B5}", "equiv;": "\u{2261}", "eta;": "\u{3B7}",
        "eth": "\u{F0}", "eth;": "\u{F0}", "euml": "\u{EB}", "euml;": "\u{EB}",
        "euro;": "\u{20AC}", "exist;": "\u{2203}", "fnof;": "\u{192}", "forall;": "\u{2200}",
        "frac12": "\u{BD}", "frac12;": "\u{BD}", "frac14": "\u{BC}", "frac14;": "\u{BC}",
        "frac34": "\u{BE}", "frac34;": "\u{BE}", "frasl;": "\u{2044}", "gamma;": "\u{3B3}",
        "ge;": "\u{2265}", "gt": "\u{3E}", "gt;": "\u{3E}", "hArr;": "\u{21D4}",
        "harr;": "\u{2194}", "hearts;": "\u{2665}", "hellip;": "\u{2026}", "iacute": "\u{ED}",
        "iacute;": "\u{ED}", "icirc": "\u{EE}", "icirc;": "\u{EE}", "iexcl": "\u{A1}",
        "iexcl;": "\u{A1}", "igrave": "\u{EC}", "igrave;": "\u{EC}", "image;": "\u{2111}",
        "infin;": "\u{221E}", "int;": "\u{222B}", "iota;": "\u{3B9}", "iquest": "\u{BF}",
        "iquest;": "\u{BF}", "isin;": "\u{2208}", "iuml": "\u{EF}", "iuml;": "\u{EF}",
        "kappa;": "\u{3BA}", "lArr;": "\u{21D0}", "lambda;": "\u{3BB}", "lang;": "\u{27E8}",
        "laquo": "\u{AB}", "laquo;": "\u{AB}", "larr;": "\u{2190}", "lceil;": "\u{2308}",
        "ldquo;": "\u{201C}", "le;": "\u{2264}", "lfloor;": "\u{230A}", "lowast;": "\u{2217}",
        "loz;": "\u{25CA}", "lrm;": "\u{200E}", "lsaquo;": "\u{2039}", "lsquo;": "\u{2018}",
        "lt": "\u{3C}", "lt;": "\u{3C}", "macr": "\u{AF}", "macr;": "\u{AF}",
        "mdash;": "\u{2014}", "micro": "\u{B5}", "micro;": "\u{B5}", "middot": "\u{B7}",
        "middot;": "\u{B7}", "minus;": "\u{2212}", "mu;": "\u{3BC}", "nabla;": "\u{2207}",
        "nbsp": "\u{A0}", "nbsp;": "\u{A0}", "ndash;": "\u{2013}", "ne;": "\u{2260}",
        "ni;": "\u{220B}", "not": "\u{AC}", "not;": "\u{AC}", "notin;": "\u{2209}",
        "nsub;": "\u{2284}", "ntilde": "\u{F1}", "ntilde;": "\u{F1}", "nu;": "\u{3BD}",
        "oacute": "\u{F3}", "oacute;": "\u{F3}", "ocirc": "\u{F4}", "ocirc;": "\u{F4}",
        "oelig;": "\u{153}", "ograve": "\u{F2}", "ograve;": "\u{F2}", "oline;": "\u{203E}",
        "omega;": "\u{3C9}", "omicron;": "\u{3BF}", "oplus;": "\u{2295}", "or;": "\u{2228}",
        "ordf": "\u{AA}", "ordf;": "\u{AA}", "ordm": "\u{BA}", "ordm;": "\u{BA}",
        "oslash": "\u{F8}", "oslash;": "\u{F8}", "otilde": "\u{F5}", "otilde;": "\u{F5}",
        "otimes;": "\u{2297}", "ouml": "\u{F6}", "ouml;": "\u{F6}", "para": "\u{B6}",
        "para;": "\u{B6}", "part;": "\u{2202}", "permil;": "\u{2030}", "perp;": "\u{22A5}",
        "phi;": "\u{3C6}", "pi;": "\u{3C0}", "piv;": "\u{3D6}", "plusmn": "\u{B1}",
        "plusmn;": "\u{B1}", "pound": "\u{A3}", "pound;": "\u{A3}", "prime;": "\u{2032}",
        "prod;": "\u{220F}", "prop;": "\u{221D}", "psi;": "\u{3C8}", "quot": "\u{22}",
        "quot;": "\u{22}", "rArr;": "\u{21D2}", "radic;": "\u{221A}", "rang;": "\u{27E9}",
        "raquo": "\u{BB}", "raquo;": "\u{BB}", "rarr;": "\u{2192}", "rceil;": "\u{2309}",
        "rdquo;": "\u{201D}", "real;": "\u{211C}", "reg": "\u{AE}", "reg;": "\u{AE}",
        "rfloor;": "\u{230B}", "rho;": "\u{3C1}", "rlm;": "\u{200F}", "rsaquo;": "\u{203A}",
        "rsquo;": "\u{2019}", "sbquo;": "\u{201A}", "scaron;": "\u{161}", "sdot;": "\u{22C5}",
        "sect": "\u{A7}", "sect;": "\u{A7}", "shy": "\u{AD}", "shy;": "\u{AD}",
        "sigma;": "\u{3C3}", "sigmaf;": "\u{3C2}", "sim;": "\u{223C}", "spades;": "\u{2660}",
        "sub;": "\u{2282}", "sube;": "\u{2286}", "sum;": "\u{2211}", "sup1": "\u{B9}",
        "sup1;": "\u{B9}", "sup2": "\u{B2}", "sup2;": "\u{B2}", "sup3": "\u{B3}",
        "sup3;": "\u{B3}", "sup;": "\u{2283}", "supe;": "\u{2287}", "szlig": "\u{DF}",
        "szlig;": "\u{DF}", "tau;": "\u{3C4}", "there4;": "\u{2234}", "theta;": "\u{3B8}",
        "thetasym;": "\u{3D1}", "thinsp;": "\u{2009}", "thorn": "\u{FE}", "thorn;": "\u{FE}",
        "tilde;": "\u{2DC}", "times": "\u{D7}", "times;": "\u{D7}", "trade;": "\u{2122}",
        "uArr;": "\u{21D1}", "uacute": "\u{FA}", "uacute;": "\u{FA}", "uarr;": "\u{2191}",
        "ucirc": "\u{FB}", "ucirc;": "\u{FB}", "ugrave": "\u{F9}", "ugrave;": "\u{F9}",
        "uml": "\u{A8}", "uml;": "\u{A8}", "upsih;": "\u{3D2}", "upsilon;": "\u{3C5}",
        "uuml": "\u{FC}", "uuml;": "\u{FC}", "weierp;": "\u{2118}", "xi;": "\u{3BE}",
        "yacute": "\u{FD}", "yacute;": "\u{FD}", "yen": "\u{A5}", "yen;": "\u{A5}",
        "yuml": "\u{FF}", "yuml;": "\u{FF}", "zeta;": "\u{3B6}", "zwj;": "\u{200D}",
        "zwnj;": "\u{200C}",    ]

    /// ftfy's extra upper-case names for lower-case entities whose upper-case form is not itself a name.
    static let ftfyUppercase: [String: String] = [
        "AACUTE;": "\u{C1}", "ACIRC;": "\u{C2}", "ACUTE;": "\u{B4}", "AELIG;": "\u{C6}",
        "AGRAVE;": "\u{C0}", "ALEFSYM;": "\u{2135}", "ALPHA;": "\u{391}", "AND;": "\u{2227}",
        "ANG;": "\u{2220}", "APOS;": "\u{27}", "ARING;": "\u{C5}", "ASYMP;": "\u{2248}",
        "ATILDE;": "\u{C3}", "AUML;": "\u{C4}", "BDQUO;": "\u{201E}", "BETA;": "\u{392}",
        "BRVBAR;": "\u{A6}", "BULL;": "\u{2022}", "CAP;": "\u{2229}", "CCEDIL;": "\u{C7}",
        "CEDIL;": "\u{B8}", "CENT;": "\u{A2}", "CHI;": "\u{3A7}", "CIRC;": "\u{2C6}",
        "CLUBS;": "\u{2663}", "CONG;": "\u{2245}", "CRARR;": "\u{21B5}", "CUP;": "\u{222A}",
        "CURREN;": "\u{A4}", "DAGGER;": "\u{2020}", "DARR;": "\u{2193}", "DEG;": "\u{B0}",
        "DELTA;": "\u{394}", "DIAMS;": "\u{2666}", "DIVIDE;": "\u{F7}", "EACUTE;": "\u{C9}",
        "ECIRC;": "\u{CA}", "EGRAVE;": "\u{C8}", "EMPTY;": "\u{2205}", "EMSP;": "\u{2003}",
        "ENSP;": "\u{2002}", "EPSILON;": "\u{395}", "EQUIV;": "\u{2261}", "ETA;": "\u{397}",
        "EUML;": "\u{CB}", "EURO;": "\u{20AC}", "EXIST;": "\u{2203}", "FNOF;": "\u{191}",
        "FORALL;": "\u{2200}", "FRAC12;": "\u{BD}", "FRAC14;": "\u{BC}", "FRAC34;": "\u{BE}",
        "FRASL;": "\u{2044}", "GAMMA;": "\u{393}", "GE;": "\u{2265}", "HARR;": "\u{2194}",
        "HEARTS;": "\u{2665}", "HELLIP;": "\u{2026}", "IACUTE;": "\u{CD}", "ICIRC;": "\u{CE}",
        "IEXCL;": "\u{A1}", "IGRAVE;": "\u{CC}", "IMAGE;": "\u{2111}", "INFIN;": "\u{221E}",
        "INT;": "\u{222B}", "IOTA;": "\u{399}", "IQUEST;": "\u{BF}", "ISIN;": "\u{2208}",
        "IUML;": "\u{CF}", "KAPPA;": "\u{39A}", "LAMBDA;": "\u{39B}", "LANG;": "\u{27E8}",
        "LAQUO;": "\u{AB}", "LARR;": "\u{2190}", "LCEIL;": "\u{2308}", "LDQUO;": "\u{201C}",
        "LE;": "\u{2264}", "LFLOOR;": "\u{230A}", "LOWAST;": "\u{2217}", "LOZ;": "\u{25CA}",
        "LRM;": "\u{200E}", "LSAQUO;": "\u{2039}", "LSQUO;": "\u{2018}", "MACR;": "\u{AF}",
        "MDASH;": "\u{2014}", "MICRO;": "\u{39C}", "MIDDOT;": "\u{B7}", "MINUS;": "\u{2212}",
        "MU;": "\u{39C}", "NABLA;": "\u{2207}", "NBSP;": "\u{A0}", "NDASH;": "\u{2013}",
        "NE;": "\u{2260}", "NI;": "\u{220B}", "NOT;": "\u{AC}", "NOTIN;": "\u{2209}",
        "NSUB;": "\u{2284}", "NTILDE;": "\u{D1}", "NU;": "\u{39D}", "OACUTE;": "\u{D3}",
        "OCIRC;": "\u{D4}", "OELIG;": "\u{152}", "OGRAVE;": "\u{D2}", "OLINE;": "\u{203E}",
        "OMEGA;": "\u{3A9}", "OMICRON;": "\u{39F}", "OPLUS;": "\u{2295}", "OR;": "\u{2228}",
        "ORDF;": "\u{AA}", "ORDM;": "\u{BA}", "OSLASH;": "\u{D8}", "OTILDE;": "\u{D5}",
        "OTIMES;": "\u{2297}", "OUML;": "\u{D6}", "PARA;": "\u{B6}", "PART;": "\u{2202}",
        "PERMIL;": "\u{2030}", "PERP;": "\u{22A5}", "PHI;": "\u{3A6}", "PI;": "\u{3A0}",
        "PIV;": "\u{3A0}", "PLUSMN;": "\u{B1}", "POUND;": "\u{A3}", "PRIME;": "\u{2032}",
        "PROD;": "\u{220F}", "PROP;": "\u{221D}", "PSI;": "\u{3A8}", "RADIC;": "\u{221A}",
        "RANG;": "\u{27E9}", "RAQUO;": "\u{BB}", "RARR;": "\u{2192}", "RCEIL;": "\u{2309}",
        "RDQUO;": "\u{201D}", "REAL;": "\u{211C}", "RFLOOR;": "\u{230B}", "RHO;": "\u{3A1}",
        "RLM;": "\u{200F}", "RSAQUO;": "\u{203A}", "RSQUO;": "\u{2019}", "SBQUO;": "\u{201A}",
        "SCARON;": "\u{160}", "SDOT;": "\u{22C5}", "SECT;": "\u{A7}", "SHY;": "\u{AD}",
        "SIGMA;": "\u{3A3}", "SIGMAF;": "\u{3A3}", "SIM;": "\u{223C}", "SPADES;": "\u{2660}",
        "SUB;": "\u{2282}", "SUBE;": "\u{2286}", "SUM;": "\u{2211}", "SUP1;": "\u{B9}",
        "SUP2;": "\u{B2}", "SUP3;": "\u{B3}", "SUP;": "\u{2283}", "SUPE;": "\u{2287}",
        "SZLIG;": "SS", "TAU;": "\u{3A4}", "THERE4;": "\u{2234}", "THETA;": "\u{398}",
        "THETASYM;": "\u{398}", "THINSP;": "\u{2009}", "TILDE;": "\u{2DC}", "TIMES;": "\u{D7}",
        "UACUTE;": "\u{DA}", "UARR;": "\u{2191}", "UCIRC;": "\u{DB}", "UGRAVE;": "\u{D9}",
        "UML;": "\u{A8}", "UPSIH;": "\u{3D2}", "UPSILON;": "\u{3A5}", "UUML;": "\u{DC}",
        "WEIERP;": "\u{2118}", "XI;": "\u{39E}", "YACUTE;": "\u{DD}", "YEN;": "\u{A5}",
        "YUML;": "\u{178}", "ZETA;": "\u{396}", "ZWJ;": "\u{200D}", "ZWNJ;": "\u{200C}",    ]
}

/// Windows-1252 meaning of the C1 control range, as Python's `html` module and ftfy's sloppy codec use it.
enum Windows1252 {
    /// [32] scalars for 0x80…0x9F; the five undefined bytes map to themselves.
    private static let c1: [UInt32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D, 0x8F,
        0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
    ]

    /// `value` must be in 0x80…0x9F.
    static func scalar(forC1 value: UInt32) -> Unicode.Scalar {
        Unicode.Scalar(c1[Int(value - 0x80)])!
    }
}
