/// JSON string literals, the one escaper of every JSON text cocoon writes by hand: `"` and `\`
/// escaped, control characters (U+0000–U+001F) as `\u00XX` — or, with `shortEscapes`, `\n`, `\r`
/// and `\t` as such. Everything else is copied, so non-ASCII text stays UTF-8.
public enum JSONString {
    /// `s` as a JSON string literal with the short escapes, as the safetensors header and
    /// `cocoon embed --json` write it.
    public static func quoted(_ s: String) -> String {
        var out: [UInt8] = []
        append(s, to: &out, shortEscapes: true)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `s` as a JSON string literal (UTF-8) to `out`; without `shortEscapes` it is the
    /// canonical form of store records (cache-schema/SCHEMA.md), every control character `\u00XX`.
    public static func append(_ s: String, to out: inout [UInt8], shortEscapes: Bool) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), b]
            case UInt8(ascii: "\n") where shortEscapes: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case UInt8(ascii: "\r") where shortEscapes: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case UInt8(ascii: "\t") where shortEscapes: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20: out += Array("\\u00".utf8) + [hex[Int(b >> 4)], hex[Int(b & 15)]]
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
