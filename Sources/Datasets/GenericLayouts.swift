import DatasetNames
import Foundation

/// Layouts that are not one of CoOp's datasets; `root` is the dataset folder itself and the
/// dataset's name is the folder name. Item paths are relative to `root`.
/// - split JSON: `root/split.json` in CoOp's format (`train` and `test` required, `val` optional);
///   the synthetic demo datasets use it.
/// - image folder: `root/<class>/<image>` (test-only: train = test) or `root/{train,val,test}/<class>/<image>`;
///   classes = sorted class folders of train (of test when there is no train/), names = folder names.
/// - CSV: `root/{train,val,test}.csv` with rows `path,label[,classname]` (optional header row whose
///   first field is "path"; RFC 4180 quotes); row numbers in errors count data rows; only test.csv → test-only; without a classname column, `root/classnames.txt` gives one
///   name per line (line index = label).
enum GenericLayouts {
    static func splitJSON(root: URL) throws -> Dataset {
        try FileListing.requireDirectory(root, "split.json and the images it lists")
        let split = try SplitFile.read(root.appendingPathComponent("split.json"), keys: ["train", "val", "test"], optional: ["val"])
        let name = root.lastPathComponent
        return try Dataset(name: name, imageRoot: root, train: split["train"]!, val: split["val"] ?? [], test: split["test"]!,
                           templates: PromptTemplates.templates(for: name))
    }

    static func imageFolder(root: URL) throws -> Dataset {
        try FileListing.requireDirectory(root, "one folder of images per class, or train/ val/ test/ folders of those")
        let name = root.lastPathComponent
        let templates = PromptTemplates.templates(for: name)
        let splitDirs = Split.allCases.filter { FileListing.isDirectory(root.appendingPathComponent($0.description)) }
        if splitDirs.isEmpty {
            let classes = try FileListing.subdirectories(root, "one folder of images per class")
            let items = try read(root, pathPrefix: "", classes: classes, labels: Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) }))
            return try Dataset(name: name, imageRoot: root, train: items, val: [], test: items, templates: templates)
        }
        let labelSplit: Split = splitDirs.contains(.train) ? .train : .test
        guard splitDirs.contains(labelSplit) else {
            throw DatasetError("\(root.path): has val/ but neither train/ nor test/; add the missing split folder")
        }
        let labelClasses = try FileListing.subdirectories(root.appendingPathComponent(labelSplit.description), "one folder of images per class")
        let labels = Dictionary(uniqueKeysWithValues: labelClasses.enumerated().map { ($1, $0) })
        var splits: [Split: [DatasetItem]] = [:]
        for split in splitDirs {
            let dir = root.appendingPathComponent(split.description)
            splits[split] = try read(dir, pathPrefix: "\(split)/", classes: try FileListing.subdirectories(dir, "one folder of images per class"), labels: labels)
        }
        let test = splits[.test] ?? []
        return try Dataset(name: name, imageRoot: root, train: splits[.train] ?? test, val: splits[.val] ?? [], test: test, templates: templates)
    }

    private static func read(_ dir: URL, pathPrefix: String, classes: [String], labels: [String: Int]) throws -> [DatasetItem] {
        var items: [DatasetItem] = []
        for folder in classes {
            guard let label = labels[folder] else {
                throw DatasetError("\(dir.path)/\(folder): class not present in the train/ folder; add it there or remove it")
            }
            for file in try FileListing.files(dir.appendingPathComponent(folder), "the images of class \(folder)") {
                items.append(DatasetItem(path: "\(pathPrefix)\(folder)/\(file)", label: label, classname: folder))
            }
        }
        return items
    }

    static func csv(root: URL) throws -> Dataset {
        try FileListing.requireDirectory(root, "train.csv / val.csv / test.csv and the images they list")
        var fallbackNames: [String]?
        func names() throws -> [String] {
            if let names = fallbackNames { return names }
            let loaded = try FileListing.lines(root.appendingPathComponent("classnames.txt"),
                                               "one class name per line (needed because the CSV has no classname column)")
            fallbackNames = loaded
            return loaded
        }
        var splits: [Split: [DatasetItem]] = [:]
        for split in Split.allCases {
            let url = root.appendingPathComponent("\(split).csv")
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            splits[split] = try readCSV(url, names: names)
        }
        guard let test = splits[.test] else {
            throw DatasetError("\(root.path)/test.csv: file not found; a CSV dataset needs test.csv (and train.csv, val.csv for training)")
        }
        let name = root.lastPathComponent
        return try Dataset(name: name, imageRoot: root, train: splits[.train] ?? test, val: splits[.val] ?? [], test: test,
                           templates: PromptTemplates.templates(for: name))
    }

    private static func readCSV(_ url: URL, names: () throws -> [String]) throws -> [DatasetItem] {
        let file = url.lastPathComponent
        guard let data = FileManager.default.contents(atPath: url.path), let text = String(data: data, encoding: .utf8) else {
            throw DatasetError("\(url.path): cannot read the file as UTF-8 text")
        }
        var rows = CSVParser.rows(text)
        if let first = rows.first, first[0].trimmingCharacters(in: .whitespaces).lowercased() == "path" {
            rows.removeFirst()   // header "path,label[,classname]"
        }
        var items: [DatasetItem] = []
        for (i, row) in rows.enumerated() {
            guard row.count == 2 || row.count == 3, !row[0].isEmpty,
                  let label = Int(row[1].trimmingCharacters(in: .whitespaces)), label >= 0 else {
                throw DatasetError("\(file): row \(i + 1) is not 'path,label[,classname]' with a label >= 0; fix the CSV")
            }
            let classname: String
            if row.count == 3 {
                classname = row[2]
            } else {
                let all = try names()
                guard label < all.count else {
                    throw DatasetError("\(file): row \(i + 1) has label \(label) but classnames.txt has \(all.count) lines; add the missing names")
                }
                classname = all[label]
            }
            items.append(DatasetItem(path: row[0], label: label, classname: classname))
        }
        return items
    }
}

/// Minimal RFC 4180 reader for the CSV layout: comma-separated fields, double quotes with "" escapes,
/// LF or CRLF line ends, blank lines skipped.
enum CSVParser {
    static func rows(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var iterator = text.unicodeScalars.makeIterator()
        var pending = iterator.next()
        func endRow() {
            row.append(field)
            field = ""
            if !(row.count == 1 && row[0].isEmpty) { rows.append(row) }
            row = []
        }
        while let c = pending {
            pending = iterator.next()
            if quoted {
                if c == "\"" {
                    if pending == "\"" { field.unicodeScalars.append("\""); pending = iterator.next() } else { quoted = false }
                } else {
                    field.unicodeScalars.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                row.append(field)
                field = ""
            } else if c == "\n" {
                endRow()
            } else if c != "\r" {
                field.unicodeScalars.append(c)
            }
        }
        if !field.isEmpty || !row.isEmpty { endRow() }
        return rows
    }
}
