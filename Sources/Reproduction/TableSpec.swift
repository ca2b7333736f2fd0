import Foundation
import PromptLearning

/// One number of a table, as a recipe over cell results: the mean ± std over seeds of some cells'
/// accuracy on a target, the harmonic mean of two entries (base-to-new H, from the means as the
/// papers compute it), the mean of several entries (averages over datasets), or nothing.
public indirect enum Entry: Codable, Hashable, Sendable {
    case cells([String], EvaluationTarget)
    case harmonic(Entry, Entry)
    case average([Entry])
    case missing
}

/// A table of a protocol: rows × columns of entries, how to plot it, and which published table
/// it sits next to. Planned with the cells (`PlanBuilder`), filled from the results by `ResultTables`.
public struct TableSpec: Codable, Sendable {
    public enum Chart: Codable, Sendable {
        /// Columns are x values (shots), rows are series.
        case lines(xLabel: String, yLabel: String)
        /// Columns are groups of bars (base, new, H), rows are series.
        case bars(yLabel: String)
    }

    public struct Row: Codable, Sendable {
        public var label: String
        public var entries: [Entry]
    }

    public var protocolName: ReproductionProtocol
    public var id: String
    public var title: String
    /// Header of the label column.
    public var corner: String
    public var columns: [String]
    public var rows: [Row]
    public var chart: Chart?
    public var published: PublishedTable?
    /// The dataset of a per-dataset published table (few-shot; "average" for the mean of 11).
    public var publishedDataset: String?

    init(protocolName: ReproductionProtocol, id: String, title: String, corner: String, columns: [String], rows: [Row],
         chart: Chart?, published: PublishedTable? = nil, publishedDataset: String? = nil) {
        self.protocolName = protocolName; self.id = id; self.title = title; self.corner = corner
        self.columns = columns; self.rows = rows; self.chart = chart; self.published = published
        self.publishedDataset = publishedDataset
    }
}

/// A table entry's value: mean over seeds (or datasets), sample std over seeds when there are
/// several, and how many results it averages.
public struct EntryValue: Codable, Equatable, Sendable {
    public var mean: Double
    public var std: Double?
    public var count: Int

    /// "71.23 ± 0.45", or "71.23" for one result, "—" for none.
    public static func text(_ v: EntryValue?) -> String {
        guard let v else { return "—" }
        if let std = v.std { return String(format: "%.2f ± %.2f", v.mean, std) }
        return String(format: "%.2f", v.mean)
    }
}

/// A table with its numbers: what `tables.json` holds per table and the markdown and HTML show.
public struct ResultTable: Codable, Sendable {
    public struct Row: Codable, Sendable {
        public var label: String
        public var values: [EntryValue?]
        /// "cocoon" for measured rows, else the paper the numbers come from.
        public var source: String
    }

    public var id: String
    public var protocolName: ReproductionProtocol
    public var title: String
    public var corner: String
    public var columns: [String]
    public var rows: [Row]
    /// The papers' numbers for the same rows and columns, when the backbone matches.
    public var published: [Row]
    public var chart: TableSpec.Chart?
    /// Entries whose cells have not finished.
    public var pending: Int

    /// GitHub-flavoured markdown: the measured rows, then the published ones (marked).
    public var markdown: String {
        var lines = ["### \(title)", "", "| \(corner) | " + columns.joined(separator: " | ") + " |",
                     "|---|" + String(repeating: "---:|", count: columns.count)]
        for row in rows { lines.append("| \(row.label) | " + row.values.map(EntryValue.text).joined(separator: " | ") + " |") }
        for row in published {
            lines.append("| *\(row.label) (published, \(row.source))* | " + row.values.map { $0.map { String(format: "*%.2f*", $0.mean) } ?? "" }.joined(separator: " | ") + " |")
        }
        if pending > 0 { lines += ["", "\(pending) entries still running or not run."] }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Fills table specs from finished cells' scores.
public struct ResultTables {
    /// Score of each (cell id, target key).
    public let scores: [String: [String: Double]]
    /// Backbone of the model ("ViT-B/16", …) for the published numbers, nil when it is none of the papers'.
    public let backbone: String?

    public init(scores: [String: [String: Double]], backbone: String?) {
        self.scores = scores; self.backbone = backbone
    }

    public func value(_ entry: Entry) -> EntryValue? {
        switch entry {
        case .missing: return nil
        case .cells(let ids, let target):
            let values = ids.compactMap { scores[$0]?[target.key] }
            guard values.count == ids.count, !values.isEmpty else { return nil }
            let summary = SeedMean(values)
            return EntryValue(mean: summary.mean, std: summary.std, count: values.count)
        case .harmonic(let a, let b):
            guard let a = value(a), let b = value(b) else { return nil }
            return EntryValue(mean: a.mean + b.mean > 0 ? 2 * a.mean * b.mean / (a.mean + b.mean) : 0, std: nil, count: min(a.count, b.count))
        case .average(let entries):
            let values = entries.compactMap(value)
            guard values.count == entries.count, !values.isEmpty else { return nil }
            return EntryValue(mean: values.map(\.mean).reduce(0, +) / Double(values.count), std: nil, count: values.count)
        }
    }

    public func fill(_ spec: TableSpec) -> ResultTable {
        var pending = 0
        let rows = spec.rows.map { row in
            ResultTable.Row(label: row.label, values: row.entries.map { entry in
                let v = value(entry)
                if v == nil, entry != .missing { pending += 1 }
                return v
            }, source: "cocoon")
        }
        let published = spec.published.map { PublishedResults.rows($0, backbone: backbone, columns: spec.columns, dataset: spec.publishedDataset) } ?? []
        return ResultTable(id: spec.id, protocolName: spec.protocolName, title: spec.title, corner: spec.corner,
                           columns: spec.columns, rows: rows, published: published, chart: spec.chart, pending: pending)
    }
}
