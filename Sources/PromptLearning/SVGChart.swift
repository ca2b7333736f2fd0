import Foundation

/// Small self-contained SVG charts (no scripts, no external fonts) for run reports and the demo
/// page: line charts (loss/accuracy curves, accuracy vs shots) and grouped bars (base / new / H).
public enum SVGChart {
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        /// ± half-heights of error bars, one per point (the std over seeds), or nil.
        public var errors: [Double]?
        public init(name: String, points: [(x: Double, y: Double)], errors: [Double]? = nil) {
            self.name = name; self.points = points; self.errors = errors
        }
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
    static let (width, height, left, right, top, bottom) = (640.0, 360.0, 60.0, 150.0, 36.0, 44.0)

    /// A line chart with markers; `logX` spaces x logarithmically (shots 1, 2, 4, 8, 16).
    public static func lines(title: String, xLabel: String, yLabel: String, series: [Series], logX: Bool = false) -> String {
        let all = series.flatMap(\.points)
        guard !all.isEmpty else { return frame(title: title, body: "") }
        let fx: (Double) -> Double = logX ? { log2(max($0, 1e-9)) } : { $0 }
        let xs = all.map { fx($0.x) }
        let ys = series.flatMap { s in s.points.enumerated().flatMap { k, p in [p.y - (s.errors?[k] ?? 0), p.y + (s.errors?[k] ?? 0)] } }
        let (x0, x1) = padded(xs.min()!, xs.max()!), (y0, y1) = padded(ys.min()!, ys.max()!)
        let px = { (x: Double) in left + (fx(x) - x0) / (x1 - x0) * (width - left - right) }
        let py = { (y: Double) in height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom) }
        var body = axes(xLabel: xLabel, yLabel: yLabel, y0: y0, y1: y1, py: py)
        let xTicks = Array(Set(all.map(\.x))).sorted()
        for x in xTicks.count <= 12 ? xTicks : stride(from: 0, to: xTicks.count, by: xTicks.count / 10).map({ xTicks[$0] }) {
            body += text(px(x), height - bottom + 16, format(x), anchor: "middle")
        }
        for (i, s) in series.enumerated() {
            let color = palette[i % palette.count]
            let path = s.points.map { String(format: "%.1f,%.1f", px($0.x), py($0.y)) }.joined(separator: " ")
            body += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(path)\"/>\n"
            if s.points.count <= 40 {
                for p in s.points { body += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%@\"/>\n", px(p.x), py(p.y), color) }
            }
            for (p, e) in zip(s.points, s.errors ?? []) where e > 0 {
                let x = px(p.x)
                body += String(format: "<path d=\"M%.1f,%.1fV%.1fM%.1f,%.1fh8M%.1f,%.1fh8\" stroke=\"%@\" stroke-width=\"1.5\"/>\n",
                               x, py(p.y - e), py(p.y + e), x - 4, py(p.y - e), x - 4, py(p.y + e), color)
            }
            body += legend(i, s.name, color)
        }
        return frame(title: title, body: body)
    }

    /// Grouped bars: one group per category, one bar per series (values in the same order), with
    /// ± error bars where `errors[series][category]` is above zero (the std over seeds).
    public static func bars(title: String, yLabel: String, categories: [String], series: [(name: String, values: [Double])],
                            errors: [[Double]]? = nil) -> String {
        func error(_ i: Int, _ c: Int) -> Double {
            guard let errors, i < errors.count, c < errors[i].count else { return 0 }
            return errors[i][c]
        }
        let ys = series.enumerated().flatMap { i, s in s.values.enumerated().map { c, v in v + error(i, c) } }
        guard !ys.isEmpty, !categories.isEmpty else { return frame(title: title, body: "") }
        let y0 = 0.0, y1 = padded(0, ys.max()!).1
        let py = { (y: Double) in height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom) }
        var body = axes(xLabel: "", yLabel: yLabel, y0: y0, y1: y1, py: py)
        let groupWidth = (width - left - right) / Double(categories.count)
        let barWidth = groupWidth * 0.8 / Double(max(series.count, 1))
        for (c, category) in categories.enumerated() {
            let gx = left + Double(c) * groupWidth + groupWidth * 0.1
            body += text(gx + groupWidth * 0.4, height - bottom + 16, category, anchor: "middle")
            for (i, s) in series.enumerated() where c < s.values.count {
                let v = s.values[c], e = error(i, c), x = gx + Double(i) * barWidth, mid = x + barWidth * 0.46
                body += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%@\"/>\n",
                               x, py(v), barWidth * 0.92, py(y0) - py(v), palette[i % palette.count])
                if e > 0 {
                    body += String(format: "<path d=\"M%.1f,%.1fV%.1fM%.1f,%.1fh8M%.1f,%.1fh8\" stroke=\"#333\" stroke-width=\"1.5\"/>\n",
                                   mid, py(v - e), py(v + e), mid - 4, py(v - e), mid - 4, py(v + e))
                }
                body += text(mid, py(v + e) - 4, String(format: "%.1f", v), anchor: "middle", size: 10)
            }
        }
        for (i, s) in series.enumerated() { body += legend(i, s.name, palette[i % palette.count]) }
        return frame(title: title, body: body)
    }

    private static func padded(_ a: Double, _ b: Double) -> (Double, Double) {
        if a == b { return (a - 1, b + 1) }
        let pad = (b - a) * 0.06
        return (a - pad, b + pad)
    }

    private static func axes(xLabel: String, yLabel: String, y0: Double, y1: Double, py: (Double) -> Double) -> String {
        var s = String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", left, top, left, height - bottom)
        s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n",
                    left, height - bottom, width - right, height - bottom)
        for i in 0...4 {
            let y = y0 + (y1 - y0) * Double(i) / 4
            s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", left, py(y), width - right, py(y))
            s += text(left - 6, py(y) + 4, format(y), anchor: "end")
        }
        s += text((left + width - right) / 2, height - 8, xLabel, anchor: "middle")
        s += "<text x=\"14\" y=\"\(height / 2)\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(height / 2))\">\(escape(yLabel))</text>\n"
        return s
    }

    private static func legend(_ i: Int, _ name: String, _ color: String) -> String {
        let y = top + 8 + Double(i) * 18, x = width - right + 12
        return String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%@\"/>\n", x, y - 10, color)
            + text(x + 18, y, name, anchor: "start")
    }

    private static func text(_ x: Double, _ y: Double, _ s: String, anchor: String, size: Int = 12) -> String {
        String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%d\" text-anchor=\"%@\">", x, y, size, anchor) + escape(s) + "</text>\n"
    }

    private static func frame(title: String, body: String) -> String {
        """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(width / 2)" y="22" font-size="15" text-anchor="middle">\(escape(title))</text>
        \(body)</svg>

        """
    }

    static func format(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e6 ? String(Int(v)) : String(format: abs(v) < 10 ? "%.2f" : "%.1f", v)
    }

    /// Text escaped for XML and HTML.
    public static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
