import Foundation
import PromptLearning

/// The demo's outputs: the papers' tables in miniature as text, and `demo-report/` with
/// `results.json`, SVG plots and an `index.html` that shows them.
public enum DemoReport {
    /// The tables printed at the end of `make demo`.
    public static func tables(_ r: DemoResults) -> String {
        var s = "\nFew-shot accuracy on \(r.plan.dataset) (\(r.classes) classes, \(r.testImages) test images)\n"
        s += String(format: "  zero-shot CLIP (\"%@\"): %.1f%%   prompt ensemble (%d templates): %.1f%%\n",
                    r.zeroShotTemplate, r.zeroShot, r.ensembleTemplates, r.ensemble)
        s += "  shots | linear probe |  CoOp\n"
        for row in r.fewShot {
            let probe = row.linearProbe.map { String(format: "%11.1f%%", $0) } ?? "           -"
            s += String(format: "  %5d | %@ | %5.1f%%\n", row.shots, probe, row.coop)
        }
        s += "\nBase-to-new (\(r.plan.baseToNewShots) shots; base = first half of the shapes)\n"
        s += "  method          |  base |   new |     H\n"
        for row in r.baseToNew {
            s += "  " + row.method.padding(toLength: 15, withPad: " ", startingAt: 0)
                + String(format: " | %5.1f | %5.1f | %5.1f\n", row.base, row.new, row.harmonic)
        }
        if !r.nearestWords.isEmpty {
            s += "\nNearest words of the learned CoOp context (\(r.fewShot.last?.shots ?? 0) shots)\n"
            for (m, words) in r.nearestWords.enumerated() {
                s += String(format: "  %2d: ", m + 1) + words.map { String(format: "%@ (%.3f)", $0.token, $0.distance) }.joined(separator: "  ") + "\n"
            }
        }
        return s
    }

    /// Writes `results.json`, the plots and `index.html` into `directory`.
    public static func write(_ r: DemoResults, to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(r).write(to: directory.appendingPathComponent("results.json"), options: .atomic)
        let shots = r.fewShot.map { Double($0.shots) }
        let plots: [(String, String)] = [
            ("accuracy_vs_shots.svg", SVGChart.lines(
                title: "\(r.plan.dataset): accuracy vs shots", xLabel: "shots per class", yLabel: "test accuracy (%)",
                series: [
                    .init(name: "CoOp", points: r.fewShot.map { (Double($0.shots), $0.coop) }),
                    .init(name: "linear probe", points: r.fewShot.compactMap { row in row.linearProbe.map { (Double(row.shots), $0) } }),
                    .init(name: "zero-shot", points: shots.map { ($0, r.zeroShot) }),
                    .init(name: "ensemble", points: shots.map { ($0, r.ensemble) }),
                ], logX: true)),
            ("base_to_new.svg", SVGChart.bars(
                title: "base-to-new (\(r.plan.baseToNewShots) shots)", yLabel: "accuracy (%)",
                categories: r.baseToNew.map(\.method),
                series: [("base", r.baseToNew.map(\.base)), ("new", r.baseToNew.map(\.new)), ("H", r.baseToNew.map(\.harmonic))])),
            ("loss_curves.svg", SVGChart.lines(
                title: "training loss", xLabel: "epoch", yLabel: "loss",
                series: r.fewShot.map { row in
                    SVGChart.Series(name: "CoOp \(row.shots)-shot", points: row.coopLoss.enumerated().map { (Double($0.offset + 1), $0.element) })
                } + [SVGChart.Series(name: "CoCoOp base", points: r.cocoopLoss.enumerated().map { (Double($0.offset + 1), $0.element) })])),
        ]
        for (name, svg) in plots {
            try svg.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        try html(r).write(to: directory.appendingPathComponent("index.html"), atomically: true, encoding: .utf8)
    }

    static func html(_ r: DemoResults) -> String {
        func cell(_ v: Double) -> String { String(format: "%.1f", v) }
        let fewShotRows = r.fewShot.map {
            "<tr><td>\($0.shots)</td><td>\($0.linearProbe.map(cell) ?? "–")</td><td>\(cell($0.coop))</td></tr>"
        }.joined()
        let b2nRows = r.baseToNew.map {
            "<tr><td>\(SVGChart.escape($0.method))</td><td>\(cell($0.base))</td><td>\(cell($0.new))</td><td>\(cell($0.harmonic))</td></tr>"
        }.joined()
        let words = r.nearestWords.enumerated().map { m, list in
            "<tr><td>\(m + 1)</td><td>" + list.map { SVGChart.escape($0.token) + String(format: " (%.3f)", $0.distance) }.joined(separator: ", ") + "</td></tr>"
        }.joined()
        let timing = r.seconds.sorted { $0.key < $1.key }.map { "<tr><td>\($0.key)</td><td>\(String(format: "%.1f", $0.value))</td></tr>" }.joined()
        return """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>cocoon demo</title>
        <style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}table{border-collapse:collapse;margin:1em 0}
        td,th{border:1px solid #ccc;padding:.3em .8em;text-align:right}td:first-child{text-align:left}img{max-width:100%}</style></head>
        <body>
        <h1>cocoon demo: prompt learning on a synthetic world</h1>
        <p>Dataset <b>\(SVGChart.escape(r.plan.dataset))</b>: \(r.classes) colour × shape classes drawn two-tone (outline in the named
        colour, interior in another), \(r.testImages) test images; features from the committed tiny CLIP (demo/model), cached once.</p>
        <h2>Few-shot</h2>
        <p>Zero-shot CLIP with "\(SVGChart.escape(r.zeroShotTemplate))": <b>\(cell(r.zeroShot))%</b>;
        prompt ensembling (\(r.ensembleTemplates) templates): <b>\(cell(r.ensemble))%</b>.</p>
        <table><tr><th>shots</th><th>linear probe (%)</th><th>CoOp (%)</th></tr>\(fewShotRows)</table>
        <img src="accuracy_vs_shots.svg" alt="accuracy vs shots">
        <h2>Base-to-new generalisation</h2>
        <table><tr><th>method</th><th>base (%)</th><th>new (%)</th><th>H (%)</th></tr>\(b2nRows)</table>
        <img src="base_to_new.svg" alt="base and new accuracy">
        <h2>Training curves</h2>
        <img src="loss_curves.svg" alt="loss curves">
        <h2>Nearest words of the learned context</h2>
        <table><tr><th>vector</th><th>nearest tokens (Euclidean distance)</th></tr>\(words)</table>
        <h2>Time (s)</h2>
        <table>\(timing)</table>
        </body></html>

        """
    }
}
