import Foundation

/// Typed access to one JSON object of a config file, with one-line errors naming the file and the
/// dotted field (`text_cfg.width`). Used by `ModelConfigFile` to read open_clip and HF configs.
struct JSONFields {
    let path: String
    let prefix: String
    let object: [String: Any]

    /// The top-level object of the JSON file at `url`.
    static func load(_ url: URL) throws -> JSONFields {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CheckpointError("\(url.path): cannot read (\(error.localizedDescription))")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw CheckpointError("\(url.path): not a JSON object; fix or remove the file")
        }
        return JSONFields(path: url.path, prefix: "", object: object)
    }

    func has(_ key: String) -> Bool { object[key] != nil && !(object[key] is NSNull) }

    func label(_ key: String) -> String { prefix + key }

    func wrong(_ key: String, _ expected: String) -> CheckpointError {
        CheckpointError("\(path): \(label(key)) is \(object[key].map { "\($0)" } ?? "missing"), expected \(expected)")
    }

    /// The nested object `key` (empty when absent).
    func child(_ key: String) throws -> JSONFields {
        guard has(key) else { return JSONFields(path: path, prefix: label(key) + ".", object: [:]) }
        guard let o = object[key] as? [String: Any] else { throw wrong(key, "an object") }
        return JSONFields(path: path, prefix: label(key) + ".", object: o)
    }

    func int(_ key: String, default value: Int? = nil) throws -> Int {
        guard has(key) else {
            if let value { return value }
            throw CheckpointError("\(path): missing \(label(key))")
        }
        guard let n = object[key] as? NSNumber, n.doubleValue == n.doubleValue.rounded() else {
            throw wrong(key, "an integer")
        }
        return n.intValue
    }

    func double(_ key: String, default value: Double) throws -> Double {
        guard has(key) else { return value }
        guard let n = object[key] as? NSNumber else { throw wrong(key, "a number") }
        return n.doubleValue
    }

    func bool(_ key: String, default value: Bool) throws -> Bool {
        guard has(key) else { return value }
        guard let b = object[key] as? Bool else { throw wrong(key, "true or false") }
        return b
    }

    func string(_ key: String, default value: String? = nil) throws -> String? {
        guard has(key) else { return value }
        guard let s = object[key] as? String else { throw wrong(key, "a string") }
        return s
    }

    func ints(_ key: String) throws -> [Int]? {
        guard has(key) else { return nil }
        guard let list = object[key] as? [Any], let ns = list as? [NSNumber],
              ns.allSatisfy({ $0.doubleValue == $0.doubleValue.rounded() }) else { throw wrong(key, "a list of integers") }
        return ns.map(\.intValue)
    }

    /// Three per-channel values (mean or std), or nil when absent.
    func channels(_ key: String) throws -> [Float]? {
        guard has(key) else { return nil }
        guard let list = object[key] as? [Any], list.count == 3, let ns = list as? [NSNumber] else {
            throw wrong(key, "a list of 3 numbers (R, G, B)")
        }
        return ns.map(\.floatValue)
    }

    /// A square size given as an integer, `[h, w]` or `{"height": h, "width": w}`.
    func squareSize(_ key: String) throws -> Int? {
        guard has(key) else { return nil }
        if let n = object[key] as? NSNumber { return n.intValue }
        var sides: [Int] = []
        if let list = object[key] as? [NSNumber] { sides = list.map(\.intValue) }
        if let dict = object[key] as? [String: Any], let h = dict["height"] as? NSNumber, let w = dict["width"] as? NSNumber {
            sides = [h.intValue, w.intValue]
        }
        guard sides.count == 2 else { throw wrong(key, "an integer, [h, w] or {height, width}") }
        guard sides[0] == sides[1] else { throw wrong(key, "a square size (cocoon crops square images)") }
        return sides[0]
    }

    /// Fails if `key` is present with a value other than its default: an option cocoon does not implement.
    func requireDefault(_ key: String, _ isDefault: (Any) -> Bool) throws {
        guard has(key), !isDefault(object[key]!) else { return }
        throw CheckpointError("\(path): \(label(key)) = \(object[key]!) is not supported (cocoon implements standard CLIP towers only)")
    }
}
