import DatasetNames
import FeatureCache
import Formats
import Foundation

/// What `CacheExport.export` wrote.
public struct ExportResult {
    /// Shape of features.npy: [N, D] (one view per item) or [N, views, D].
    public var featureShape: [Int]
    public var items: Int
}

/// `cocoon query export --format npy`: the features of one extractor × dataset × split as
/// `features.npy` (float32, raw values as stored, [N, D] or [N, views, D]), `labels.npy` (int64,
/// [N]) and `items.csv` (`path,label,classname`, one row per item in item order), for use
/// outside cocoon (NumPy, PyTorch).
public enum CacheExport {
    /// Exports all items of the split, or the items of a named `subset`: view 0, and the views of
    /// `recipe` when given; `view` keeps only that view. Items must all have the same number of
    /// views (else pass `view` or `subset`).
    @discardableResult
    public static func export(store: FeatureStore, ext: ExtractorID, ds: DatasetID, dataset: DatasetRecord, split: Split,
                              subset: String? = nil, recipe: RecipeID? = nil, view: Int? = nil, to directory: URL) throws -> ExportResult {
        var ids: [UInt32]? = nil
        if let subset {
            guard let list = try store.subset(ds: ds, split: split, name: subset) else {
                let known = try store.subsetNames(ds: ds, split: split)
                throw IndexingError("\(store.path): no subset '\(subset)' of \(dataset.name) \(split); stored: \(known.isEmpty ? "none" : known.joined(separator: ", "))")
            }
            ids = list
        }
        let scan = try store.scan(ext: ext, ds: ds, split: split, items: ids, recipe: recipe)
        let D = scan.dim
        // Rows kept, grouped per item (rows come in item, then view order).
        var itemIDs: [UInt32] = [], itemLabels: [Int32] = [], viewCounts: [Int] = []
        var rows: [Int] = []
        for r in 0..<scan.rows {
            if let view, Int(scan.views[r]) != view { continue }
            if itemIDs.last != scan.items[r] {
                itemIDs.append(scan.items[r]); itemLabels.append(scan.labels[r]); viewCounts.append(0)
            }
            viewCounts[viewCounts.count - 1] += 1
            rows.append(r)
        }
        guard !itemIDs.isEmpty else {
            throw IndexingError("\(store.path): no features of \(dataset.name) \(split)\(view.map { " view \($0)" } ?? "") for this model; index the split first")
        }
        let views = viewCounts[0]
        guard viewCounts.allSatisfy({ $0 == views }) else {
            throw IndexingError("\(store.path): items of \(dataset.name) \(split) have between \(viewCounts.min()!) and \(viewCounts.max()!) views (augmented views only on few-shot items); export with --view 0 or --subset NAME")
        }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw IndexingError("\(directory.path): cannot create the output directory (\(error.localizedDescription))")
        }
        var features = [Float](repeating: 0, count: rows.count * D)       // [N·views, D]
        scan.values.withUnsafeBufferPointer { src in
            features.withUnsafeMutableBufferPointer { dst in
                for (i, r) in rows.enumerated() { (dst.baseAddress! + i * D).update(from: src.baseAddress! + r * D, count: D) }
            }
        }
        let shape = views == 1 ? [itemIDs.count, D] : [itemIDs.count, views, D]
        try NPYWriter.write(features, shape: shape, to: directory.appendingPathComponent("features.npy").path)
        try NPYWriter.write(itemLabels.map { Int64($0) }, shape: [itemIDs.count], to: directory.appendingPathComponent("labels.npy").path)

        let records = try store.items(ds: ds, split: split)
        var csv = "path,label,classname\n"
        for (i, id) in itemIDs.enumerated() {
            let path = Int(id) < records.count ? records[Int(id)].relativePath : ""
            let label = Int(itemLabels[i])
            let name = label >= 0 && label < dataset.classnames.count ? dataset.classnames[label] : ""
            csv += "\(csvField(path)),\(label),\(csvField(name))\n"
        }
        let csvURL = directory.appendingPathComponent("items.csv")
        do {
            try Data(csv.utf8).write(to: csvURL, options: .atomic)
        } catch {
            throw IndexingError("\(csvURL.path): cannot write (\(error.localizedDescription)); check the directory")
        }
        return ExportResult(featureShape: shape, items: itemIDs.count)
    }

    /// RFC 4180 quoting when the field holds a comma, quote or line break.
    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
