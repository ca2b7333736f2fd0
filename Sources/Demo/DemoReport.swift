import Foundation
import PromptLearning

/// The demo's outputs: the papers' tables in miniature as text, and `demo-report/` with
/// `results.json`, SVG plots, the pictures it shows and an `index.html` that shows them.
public enum DemoReport {
    /// "61.3 ± 1.2" (or "61.3" without a spread).
    static func text(_ v: SeedMean) -> String {
        v.std.map { String(format: "%.1f ± %.1f", v.mean, $0) } ?? String(format: "%.1f", v.mean)
    }

    static func padded(_ s: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - s.count)) + s
    }

    /// The tables printed at the end of `make demo`.
    public static func tables(_ r: DemoResults) -> String {
        let seeds = r.plan.seeds.map(String.init).joined(separator: ", ")
        var s = "\nFew-shot (CoOp Fig. 3): \(r.plan.dataset), \(r.classes) classes, \(r.testImages) test images; mean ± std over seeds \(seeds)\n"
        s += String(format: "  zero-shot CLIP (\"%@\"): %.1f%%   prompt ensemble (%d templates): %.1f%%\n",
                    r.zeroShotTemplate, r.zeroShot, r.ensembleTemplates, r.ensemble)
        let adapterNames = r.fewShot.first?.adapters.map(\.method) ?? []
        s += "  shots |  linear probe |          CoOp | CoOp − zero-shot" + adapterNames.map { " | " + padded($0, 13) }.joined() + "\n"
        for row in r.fewShot {
            s += "  " + padded(String(row.shots), 5) + " | " + padded(row.linearProbe.map(text) ?? "-", 13) + " | "
                + padded(text(row.coop), 13) + " | " + padded(String(format: "%+.1f", row.coop.mean - r.zeroShot), 16)
                + row.adapters.map { " | " + padded(text($0.accuracy), 13) }.joined() + "\n"
        }
        s += "\nBase-to-new (CoCoOp Table 1, with KgCoOp and ProGrad): \(r.plan.baseToNewShots) shots on the base half (circle, square, triangle, star)\n"
        s += "  method         |          base |           new |     H\n"
        for row in r.baseToNew {
            s += "  " + row.method.padding(toLength: 14, withPad: " ", startingAt: 0) + " | " + padded(text(row.base), 13) + " | "
                + padded(text(row.new), 13) + " | " + padded(String(format: "%.1f", row.harmonic), 5) + "\n"
        }
        s += "\nDomain generalisation (CoOp Table 1): \(r.fewShot.last?.shots ?? 0) shots on \(r.plan.dataset), tested on \(r.plan.targetDataset)\n"
        s += "  method         |        source |        target\n"
        for row in r.domainGeneralisation {
            s += "  " + row.method.padding(toLength: 14, withPad: " ", startingAt: 0) + " | " + padded(text(row.source), 13) + " | "
                + padded(text(row.target), 13) + "\n"
        }
        if !r.nearestWords.isEmpty {
            s += "\nNearest words of the learned CoOp context (\(r.fewShot.last?.shots ?? 0) shots, seed \(r.plan.seeds[0]))\n"
            for (m, words) in r.nearestWords.enumerated() {
                s += String(format: "  %2d: ", m + 1) + words.map { String(format: "%@ (%.3f)", $0.token, $0.distance) }.joined(separator: "  ") + "\n"
            }
        }
        return s
    }

    /// Writes `results.json`, the plots, the pictures (copied from `images`, the demo's data
    /// folder) and `index.html` into `directory`.
    public static func write(_ r: DemoResults, to directory: URL, images: URL) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(r).write(to: directory.appendingPathComponent("results.json"), options: .atomic)
        let pictures = r.samples.flatMap(\.pictures) + r.fixed + r.broken
        for picture in pictures {
            let to = directory.appendingPathComponent(picture.file)
            let from = images.appendingPathComponent(String(picture.file.dropFirst("images/".count)))
            try fm.createDirectory(at: to.deletingLastPathComponent(), withIntermediateDirectories: true)
            try? fm.removeItem(at: to)
            try fm.copyItem(at: from, to: to)
        }
        let shots = r.fewShot.map { Double($0.shots) }
        var accuracySeries: [SVGChart.Series] = [
            .init(name: "CoOp", points: r.fewShot.map { (Double($0.shots), $0.coop.mean) }, errors: r.fewShot.map { $0.coop.std ?? 0 }),
            .init(name: "linear probe", points: r.fewShot.compactMap { row in row.linearProbe.map { (Double(row.shots), $0.mean) } },
                  errors: r.fewShot.compactMap { $0.linearProbe.map { $0.std ?? 0 } }),
        ]
        for i in (r.fewShot.first?.adapters ?? []).indices {
            let points: [(Double, Double)] = r.fewShot.map { (Double($0.shots), $0.adapters[i].accuracy.mean) }
            accuracySeries.append(.init(name: r.fewShot[0].adapters[i].method, points: points,
                                        errors: r.fewShot.map { $0.adapters[i].accuracy.std ?? 0 }))
        }
        accuracySeries += [.init(name: "zero-shot", points: shots.map { ($0, r.zeroShot) }),
                           .init(name: "ensemble", points: shots.map { ($0, r.ensemble) })]
        let plots: [(String, String)] = [
            ("accuracy_vs_shots.svg", SVGChart.lines(
                title: "\(r.plan.dataset): accuracy vs shots (mean ± std over seeds)", xLabel: "shots per class",
                yLabel: "test accuracy (%)", series: accuracySeries, logX: true)),
            ("base_to_new.svg", SVGChart.bars(
                title: "base-to-new (\(r.plan.baseToNewShots) shots, mean ± std over seeds)", yLabel: "accuracy (%)",
                categories: r.baseToNew.map(\.method),
                series: [("base", r.baseToNew.map(\.base.mean)), ("new", r.baseToNew.map(\.new.mean)), ("H", r.baseToNew.map(\.harmonic))],
                errors: [r.baseToNew.map { $0.base.std ?? 0 }, r.baseToNew.map { $0.new.std ?? 0 }])),
            ("domain_generalisation.svg", SVGChart.bars(
                title: "\(r.plan.dataset) → \(r.plan.targetDataset) (mean ± std over seeds)", yLabel: "accuracy (%)",
                categories: r.domainGeneralisation.map(\.method),
                series: [("source", r.domainGeneralisation.map(\.source.mean)), ("target", r.domainGeneralisation.map(\.target.mean))],
                errors: [r.domainGeneralisation.map { $0.source.std ?? 0 }, r.domainGeneralisation.map { $0.target.std ?? 0 }])),
            ("loss_curves.svg", SVGChart.lines(
                title: "training loss (seed \(r.plan.seeds[0]))", xLabel: "epoch", yLabel: "loss",
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
        let e = SVGChart.escape
        func cell(_ v: SeedMean) -> String { "<td>\(e(text(v)))</td>" }
        let fewShotRows = r.fewShot.map {
            "<tr><td>\($0.shots)</td>\($0.linearProbe.map(cell) ?? "<td>–</td>")\(cell($0.coop))<td>\(String(format: "%+.1f", $0.coop.mean - r.zeroShot))</td>"
                + $0.adapters.map { cell($0.accuracy) }.joined() + "</tr>"
        }.joined()
        let adapterHeads = (r.fewShot.first?.adapters ?? []).map { "<th>\(e($0.method)) (%)</th>" }.joined()
        let b2nRows = r.baseToNew.map {
            "<tr><td>\(e($0.method))</td>\(cell($0.base))\(cell($0.new))<td>\(String(format: "%.1f", $0.harmonic))</td></tr>"
        }.joined()
        let dgRows = r.domainGeneralisation.map { "<tr><td>\(e($0.method))</td>\(cell($0.source))\(cell($0.target))</tr>" }.joined()
        let words = r.nearestWords.enumerated().map { m, list in
            "<tr><td>\(m + 1)</td><td>" + list.map { e($0.token) + String(format: " (%.3f)", $0.distance) }.joined(separator: ", ") + "</td></tr>"
        }.joined()
        func figure(_ p: DemoResults.Picture) -> String {
            var caption = "<b>\(e(p.truth))</b><br>\(e(p.labelledPart)) names it"
            if let z = p.zeroShot, let c = p.coop { caption += "<br>zero-shot: \(e(z))<br>CoOp: \(e(c))" }
            return "<figure><img src=\"\(e(p.file))\" width=\"96\" height=\"96\" alt=\"\(e(p.truth))\"><figcaption>\(caption)</figcaption></figure>"
        }
        func strip(_ pictures: [DemoResults.Picture]) -> String { "<div class=\"strip\">" + pictures.map(figure).joined() + "</div>" }
        let samples = r.samples.map { "<h3>\(e($0.dataset)) · \(e($0.split))</h3>" + strip($0.pictures) }.joined()
        let timing = r.seconds.sorted { $0.key < $1.key }.map { "<tr><td>\(e($0.key))</td><td>\(String(format: "%.1f", $0.value))</td></tr>" }.joined()
        let seeds = r.plan.seeds.map(String.init).joined(separator: ", ")
        return """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>cocoon demo</title>
        <style>body{font-family:sans-serif;max-width:64em;margin:2em auto;line-height:1.4}table{border-collapse:collapse;margin:1em 0}
        td,th{border:1px solid #ccc;padding:.3em .8em;text-align:right}td:first-child{text-align:left}img{max-width:100%}
        .strip{display:flex;flex-wrap:wrap;gap:.6em}figure{margin:0;width:8.5em;font-size:.8em}
        figure img{image-rendering:pixelated;display:block}</style></head>
        <body>
        <h1>cocoon demo: prompt learning on a synthetic world</h1>
        <p>Dataset <b>\(e(r.plan.dataset))</b>: \(r.classes) colour × shape classes drawn two-tone, \(r.testImages) test images.
        The light says which colour names the class: the outline's in full light, the fill's in dim light. Circles, squares,
        triangles and stars (the base classes) are in full light 60 % of the time, crosses, rings, hearts and arrows (the new
        classes) 20 %. Features from the committed tiny CLIP
        (demo/model), cached once; every learned number is the mean ± std over seeds \(seeds) with the papers' default settings.</p>
        <h2>Few-shot (CoOp Fig. 3)</h2>
        <p>Zero-shot CLIP with "\(e(r.zeroShotTemplate))": <b>\(String(format: "%.1f", r.zeroShot))%</b>;
        prompt ensembling (\(r.ensembleTemplates) templates): <b>\(String(format: "%.1f", r.ensemble))%</b>.</p>
        <table><tr><th>shots</th><th>linear probe (%)</th><th>CoOp (%)</th><th>CoOp − zero-shot</th>\(adapterHeads)</tr>\(fewShotRows)</table>
        <img src="accuracy_vs_shots.svg" alt="accuracy vs shots">
        <h2>Base-to-new generalisation (CoCoOp Table 1, with KgCoOp and ProGrad)</h2>
        <table><tr><th>method</th><th>base (%)</th><th>new (%)</th><th>H (%)</th></tr>\(b2nRows)</table>
        <img src="base_to_new.svg" alt="base and new accuracy">
        <h2>Domain generalisation (CoOp Table 1)</h2>
        <p>Learned on \(r.fewShot.last?.shots ?? 0) shots of <b>\(e(r.plan.dataset))</b>, tested on <b>\(e(r.plan.targetDataset))</b>:
        the same classes and rule, every picture with four times the sensor noise (grain 0.06 instead of 0.015).</p>
        <table><tr><th>method</th><th>source (%)</th><th>target (%)</th></tr>\(dgRows)</table>
        <img src="domain_generalisation.svg" alt="source and target accuracy">
        <h2>What CoOp fixes and what it breaks</h2>
        <p>Test images of \(e(r.plan.dataset)) that CoOp (\(r.fewShot.last?.shots ?? 0) shots, seed \(r.plan.seeds[0])) gets right
        and zero-shot CLIP gets wrong:</p>
        \(strip(r.fixed))
        <p>… and the other way round:</p>
        \(strip(r.broken))
        <h2>The images</h2>
        \(samples)
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
