import CLIP
import Foundation
import PromptLearning

/// The outputs of a reproduction's aggregation, written into `--out`: `tables.json` (every table
/// with mean, std and count per entry, and the published rows), `tables.md`, and `report.html`
/// (tables plus the papers' plots: few-shot curves, base/new/H bars). Idempotent: the same scores
/// give the same bytes, so rerunning aggregation (locally or as the last Slurm job) is safe.
public enum ReproductionReport {
    /// The tables of `plan` from the scores in `folder`.
    public static func tables(plan: ReproductionPlan, folder: ReproductionFolder, backbone: String?) throws -> [ResultTable] {
        let filler = ResultTables(scores: try folder.scores(plan), backbone: backbone)
        return plan.tables.map(filler.fill)
    }

    /// Writes `tables.json`, `tables.md` and `report.html`.
    public static func write(_ tables: [ResultTable], plan: ReproductionPlan, backbone: String?, modelName: String, to folder: ReproductionFolder) throws {
        try ReproductionFolder.encoder.encode(tables).write(to: folder.url.appendingPathComponent("tables.json"), options: .atomic)
        let header = "# cocoon reproduce: \(plan.settings.protocols.map(\.rawValue).joined(separator: ", "))\n\n" + settingsLine(plan, modelName: modelName, backbone: backbone) + "\n\n"
        try (header + tables.map(\.markdown).joined(separator: "\n")).write(to: folder.url.appendingPathComponent("tables.md"), atomically: true, encoding: .utf8)
        try html(tables, plan: plan, backbone: backbone, modelName: modelName)
            .write(to: folder.url.appendingPathComponent("report.html"), atomically: true, encoding: .utf8)
    }

    /// The papers' backbone name of a model, or nil for any other architecture.
    public static func backbone(_ a: CLIPArchitecture) -> String? {
        switch a.vision {
        case .vit(let v) where v.width == 768 && v.layers == 12 && v.patchSize == 32: return "ViT-B/32"
        case .vit(let v) where v.width == 768 && v.layers == 12 && v.patchSize == 16: return "ViT-B/16"
        case .vit(let v) where v.width == 1024 && v.layers == 24 && v.patchSize == 14: return "ViT-L/14"
        case .modifiedResNet(let r) where r.blocksPerStage == [3, 4, 6, 3] && r.width == 64: return "RN50"
        case .modifiedResNet(let r) where r.blocksPerStage == [3, 4, 23, 3] && r.width == 64: return "RN101"
        default: return nil
        }
    }

    static func settingsLine(_ plan: ReproductionPlan, modelName: String, backbone: String?) -> String {
        let s = plan.settings
        return "Model \(modelName)\(backbone.map { " (\($0))" } ?? ""); shots \(s.shots.map(String.init).joined(separator: ",")); "
            + "seeds \(s.seeds.map(String.init).joined(separator: ",")); \(s.views) augmented views per training image"
            + (s.maxEpochs.map { "; epochs capped at \($0)" } ?? "") + "; \(plan.cells.count) cells. Accuracy % on the test split, mean ± std over seeds."
    }

    static func html(_ tables: [ResultTable], plan: ReproductionPlan, backbone: String?, modelName: String) -> String {
        var body = "<h1>cocoon reproduce</h1>\n<p>\(SVGChart.escape(settingsLine(plan, modelName: modelName, backbone: backbone)))</p>\n"
        if backbone == nil { body += "<p>The model is none of the papers' backbones, so no published numbers are shown.</p>\n" }
        for p in plan.settings.protocols {
            let mine = tables.filter { $0.protocolName == p }
            guard !mine.isEmpty else { continue }
            body += "<h2>\(p.rawValue)</h2>\n"
            for t in mine {
                body += "<section><h3>\(SVGChart.escape(t.title))</h3>\n" + htmlTable(t) + (chart(t).map { "<div class=\"chart\">\($0)</div>\n" } ?? "") + "</section>\n"
            }
        }
        return """
        <!doctype html>
        <html><head><meta charset="utf-8"><title>cocoon reproduce</title>
        <style>
        body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
        table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
        td:first-child,th:first-child{text-align:left}tr.published td{color:#777;font-style:italic}
        section{display:inline-block;vertical-align:top;margin:0 2em 2em 0}.chart svg{width:520px;height:auto}
        </style></head><body>
        \(body)</body></html>

        """
    }

    static func htmlTable(_ t: ResultTable) -> String {
        var s = "<table><tr><th>\(SVGChart.escape(t.corner))</th>" + t.columns.map { "<th>\(SVGChart.escape($0))</th>" }.joined() + "</tr>\n"
        for row in t.rows {
            s += "<tr><td>\(SVGChart.escape(row.label))</td>" + row.values.map { "<td>\(EntryValue.text($0))</td>" }.joined() + "</tr>\n"
        }
        for row in t.published {
            s += "<tr class=\"published\"><td>\(SVGChart.escape(row.label)) — \(SVGChart.escape(row.source))</td>"
                + row.values.map { "<td>\($0.map { String(format: "%.2f", $0.mean) } ?? "")</td>" }.joined() + "</tr>\n"
        }
        return s + "</table>\n" + (t.pending > 0 ? "<p>\(t.pending) entries still running or not run.</p>\n" : "")
    }

    /// The table's plot: accuracy vs shots (lines) or base/new/H (bars); nil for plain tables.
    static func chart(_ t: ResultTable) -> String? {
        switch t.chart {
        case .lines(let xLabel, let yLabel):
            let series = t.rows.map { row in
                SVGChart.Series(name: row.label, points: zip(t.columns, row.values).compactMap { column, v in
                    guard let v, let x = Double(column) else { return nil }
                    return (x, v.mean)
                })
            }
            return SVGChart.lines(title: t.title, xLabel: xLabel, yLabel: yLabel, series: series, logX: true)
        case .bars(let yLabel):
            let series = t.rows.filter { $0.values.allSatisfy { $0 != nil } }.map { (name: $0.label, values: $0.values.map { $0!.mean }) }
            return SVGChart.bars(title: t.title, yLabel: yLabel, categories: t.columns, series: series)
        case nil:
            return nil
        }
    }
}
