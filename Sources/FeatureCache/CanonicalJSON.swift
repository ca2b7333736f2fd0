import Formats
import Foundation

/// A JSON value restricted to what store records use (strings, integers, arrays, objects), with a
/// canonical serialisation: object keys sorted by their UTF-8 bytes, no whitespace, integers in
/// decimal, strings escaped minimally (`"` `\` and U+0000–U+001F only). Record ids hash these
/// bytes, so the form is fixed by cache-schema/SCHEMA.md rather than by a JSON library.
enum JSON: Equatable {
    case string(String)
    case int(Int)
    case array([JSON])
    case object([String: JSON])

    /// Canonical UTF-8 bytes.
    var canonical: [UInt8] {
        var out: [UInt8] = []
        write(to: &out)
        return out
    }

    private func write(to out: inout [UInt8]) {
        switch self {
        case .int(let x): out += Array(String(x).utf8)
        case .string(let s): JSONString.append(s, to: &out, shortEscapes: false)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, x) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                x.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            let keys = o.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            for (i, k) in keys.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONString.append(k, to: &out, shortEscapes: false)
                out.append(UInt8(ascii: ":"))
                o[k]!.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Parses JSON bytes; nil if they are not JSON or use a value outside this subset.
    static func parse(_ bytes: [UInt8]) -> JSON? {
        guard let any = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) else { return nil }
        return from(any)
    }

    private static func from(_ any: Any) -> JSON? {
        if let s = any as? String { return .string(s) }
        if let a = any as? [Any] {
            var out: [JSON] = []
            for x in a { guard let j = from(x) else { return nil }; out.append(j) }
            return .array(out)
        }
        if let o = any as? [String: Any] {
            var out: [String: JSON] = [:]
            for (k, v) in o { guard let j = from(v) else { return nil }; out[k] = j }
            return .object(out)
        }
        if let n = any as? NSNumber {
            let d = n.doubleValue
            guard d == d.rounded(), abs(d) < 9.0e15 else { return nil }
            return .int(n.intValue)
        }
        return nil
    }

    subscript(key: String) -> JSON? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
    var string: String? { if case .string(let s) = self { return s }; return nil }
    var int: Int? { if case .int(let x) = self { return x }; return nil }
    var array: [JSON]? { if case .array(let a) = self { return a }; return nil }
}

/// Reads fields of a record's JSON object, throwing one-line errors that name the record.
struct JSONFields {
    let json: JSON
    let what: String

    func string(_ key: String) throws -> String {
        guard let s = json[key]?.string else { throw StoreError("\(what): field '\(key)' missing or not a string; the store is damaged, run `cocoon store verify`") }
        return s
    }
    func int(_ key: String) throws -> Int {
        guard let x = json[key]?.int else { throw StoreError("\(what): field '\(key)' missing or not an integer; the store is damaged, run `cocoon store verify`") }
        return x
    }
    func object(_ key: String) throws -> JSONFields {
        guard let o = json[key], case .object = o else { throw StoreError("\(what): field '\(key)' missing or not an object; the store is damaged, run `cocoon store verify`") }
        return JSONFields(json: o, what: what)
    }
    func strings(_ key: String) throws -> [String] {
        guard let a = json[key]?.array else { throw StoreError("\(what): field '\(key)' missing or not an array; the store is damaged, run `cocoon store verify`") }
        return try a.map {
            guard let s = $0.string else { throw StoreError("\(what): field '\(key)' holds a non-string") }
            return s
        }
    }
}
