import Foundation

/// Reader for CoOp's split JSON (`split_zhou_<Name>.json`, the generic `split.json`) and for the
/// few-shot JSON written by `tools/export_fewshot.py`: an object whose keys map to lists of
/// `[relative_path, label, classname]` entries. Labels are read like Python's `int(label)`
/// (integers, integral floats and decimal strings).
public enum SplitFile {
    /// Parses the given keys of a split file; a key listed in `optional` may be absent (→ nil).
    /// Errors name the file and the JSON path of the bad entry.
    public static func read(_ url: URL, keys: [String], optional: Set<String> = []) throws -> [String: [DatasetItem]] {
        let file = url.lastPathComponent
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw DatasetError("\(url.path): file not found; check the dataset folder or the path given")
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw DatasetError("\(url.path): cannot read the split file (\(error.localizedDescription))")
        }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw DatasetError("\(file): not valid JSON; regenerate the split file")
        }
        guard let root = object as? [String: Any] else {
            throw DatasetError("\(file): top level is not an object {\"train\": [...], ...}; regenerate the split file")
        }
        var result: [String: [DatasetItem]] = [:]
        for key in keys {
            guard let value = root[key] else {
                if optional.contains(key) { continue }
                throw DatasetError("\(file): missing key \"\(key)\"; regenerate the split file")
            }
            guard let entries = value as? [Any] else {
                throw DatasetError("\(file): \(key) is not a list of [path, label, classname]; regenerate the split file")
            }
            var items: [DatasetItem] = []
            items.reserveCapacity(entries.count)
            for (i, entry) in entries.enumerated() {
                guard let item = parseEntry(entry) else {
                    throw DatasetError("\(file): \(key)[\(i)] is not [path, label, classname]; regenerate the split file")
                }
                items.append(item)
            }
            result[key] = items
        }
        return result
    }

    private static func parseEntry(_ entry: Any) -> DatasetItem? {
        guard let triple = entry as? [Any], triple.count == 3,
              let path = triple[0] as? String, !path.isEmpty,
              let label = parseLabel(triple[1]), label >= 0,
              let classname = triple[2] as? String else { return nil }
        return DatasetItem(path: path, label: label, classname: classname)
    }

    private static func parseLabel(_ value: Any) -> Int? {
        if let string = value as? String { return Int(string.trimmingCharacters(in: .whitespaces)) }
        guard let number = value as? NSNumber else { return nil }
        let double = number.doubleValue
        guard double.rounded() == double, abs(double) < 9e15 else { return nil }
        return Int(double)
    }
}
