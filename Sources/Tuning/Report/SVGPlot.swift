import ChunkModel
import Foundation

/// A chart as inline SVG: one plot area with two axes (linear, logarithmic or
/// event time), and lines, dots, bands and markers drawn in data coordinates.
/// No scripts, no external references: the report stays one file.
struct SVGPlot {
    struct Axis {
        enum Scale { case linear, log, time }
        var min: Double
        var max: Double
        var scale: Scale = .linear
        var label: String
        var format: (Double) -> String = { Format.decimal($0, 2) }
        /// On a log scale, ticks at powers of two (sizes in bytes) rather than of ten.
        var powersOfTwo = false
    }

    var width = 1040.0
    var height = 300.0
    let left = 78.0, right = 24.0, top = 34.0, bottom = 46.0
    var x: Axis
    var y: Axis
    var title: String
    private var body = ""
    private var legend: [(color: String, text: String, dashed: Bool)] = []

    init(title: String, x: Axis, y: Axis, height: Double = 300) {
        self.title = title
        self.x = x
        self.y = y
        self.height = height
        if self.x.max <= self.x.min { self.x.max = self.x.min + 1 }
        if self.y.max <= self.y.min { self.y.max = self.y.min + 1 }
        if self.y.scale == .log { self.y.min = Swift.max(self.y.min, 1e-9) }
    }

    var plotWidth: Double { width - left - right }
    var plotHeight: Double { height - top - bottom }

    func px(_ v: Double) -> Double {
        left + plotWidth * fraction(v, x)
    }

    func py(_ v: Double) -> Double {
        top + plotHeight * (1 - fraction(v, y))
    }

    private func fraction(_ v: Double, _ a: Axis) -> Double {
        let f: Double
        if a.scale == .log {
            f = (log10(Swift.max(v, a.min)) - log10(a.min)) / (log10(a.max) - log10(a.min))
        } else {
            f = (v - a.min) / (a.max - a.min)
        }
        return Swift.min(Swift.max(f, -0.02), 1.02)
    }

    mutating func addLegend(_ color: String, _ text: String, dashed: Bool = false) {
        legend.append((color, text, dashed))
    }

    mutating func line(_ points: [(Double, Double)], color: String, width: Double = 2, dash: String? = nil, legend: String? = nil) {
        guard points.count > 1 else {
            if let p = points.first { dots([p], color: color) }
            return
        }
        let d = points.map { "\(n(px($0.0))),\(n(py($0.1)))" }.joined(separator: " ")
        body += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(n(width))\"\(dash.map { " stroke-dasharray=\"\($0)\"" } ?? "") points=\"\(d)\"/>\n"
        if let legend { addLegend(color, legend, dashed: dash != nil) }
    }

    /// A stepped line: each value holds from its x to the next one's.
    mutating func steps(_ points: [(Double, Double)], until end: Double, color: String, legend: String? = nil) {
        var out: [(Double, Double)] = []
        for (i, p) in points.enumerated() {
            out.append(p)
            out.append((i + 1 < points.count ? points[i + 1].0 : end, p.1))
        }
        line(out, color: color, width: 1.5, legend: legend)
    }

    mutating func dots(
        _ points: [(Double, Double)], color: String, r: Double = 3, opacity: Double = 1, legend: String? = nil, titles: [String]? = nil
    ) {
        let fill = opacity < 1 ? " fill-opacity=\"\(opacity)\"" : ""
        for (i, p) in points.enumerated() {
            let title = titles.map { "<title>\(escapeHTML($0[i]))</title>" } ?? ""
            body += "<circle cx=\"\(n(px(p.0)))\" cy=\"\(n(py(p.1)))\" r=\"\(n(r))\" fill=\"\(color)\"\(fill)>\(title)</circle>\n"
        }
        if let legend { addLegend(color, legend) }
    }

    /// A horizontal band between two y values, over [x0, x1] (the whole width when nil).
    mutating func hband(_ y0: Double, _ y1: Double, from x0: Double? = nil, to x1: Double? = nil, color: String, opacity: Double = 0.18, legend: String? = nil) {
        let a = x0.map(px) ?? left, b = x1.map(px) ?? left + plotWidth
        let top = py(Swift.max(y0, y1)), bottom = py(Swift.min(y0, y1))
        body += "<rect x=\"\(n(a))\" y=\"\(n(top))\" width=\"\(n(Swift.max(b - a, 0)))\" height=\"\(n(Swift.max(bottom - top, 1)))\" fill=\"\(color)\" fill-opacity=\"\(opacity)\"/>\n"
        if let legend { addLegend(color, legend) }
    }

    /// A vertical band between two x values.
    mutating func vband(_ x0: Double, _ x1: Double, color: String, opacity: Double = 0.15, legend: String? = nil) {
        let a = px(x0), b = Swift.max(px(x1), a + 2)
        body += "<rect x=\"\(n(a))\" y=\"\(n(top))\" width=\"\(n(b - a))\" height=\"\(n(plotHeight))\" fill=\"\(color)\" fill-opacity=\"\(opacity)\"/>\n"
        if let legend { addLegend(color, legend) }
    }

    mutating func hline(_ v: Double, color: String, dash: String? = "6 4", label: String? = nil, legend: String? = nil) {
        let yy = py(v)
        body += "<line x1=\"\(n(left))\" x2=\"\(n(left + plotWidth))\" y1=\"\(n(yy))\" y2=\"\(n(yy))\" stroke=\"\(color)\" stroke-width=\"1.5\"\(dash.map { " stroke-dasharray=\"\($0)\"" } ?? "")/>\n"
        if let label {
            body += "<text x=\"\(n(left + plotWidth - 4))\" y=\"\(n(yy - 5))\" text-anchor=\"end\" class=\"mark\" fill=\"\(color)\">\(escapeHTML(label))</text>\n"
        }
        if let legend { addLegend(color, legend, dashed: dash != nil) }
    }

    mutating func vline(_ v: Double, color: String, dash: String? = nil, label: String? = nil) {
        let xx = px(v)
        body += "<line x1=\"\(n(xx))\" x2=\"\(n(xx))\" y1=\"\(n(top))\" y2=\"\(n(top + plotHeight))\" stroke=\"\(color)\" stroke-width=\"2\"\(dash.map { " stroke-dasharray=\"\($0)\"" } ?? "")/>\n"
        if let label {
            let anchor = xx > left + plotWidth * 0.8 ? "end" : "start"
            body += "<text x=\"\(n(xx + (anchor == "end" ? -5 : 5)))\" y=\"\(n(top + 13))\" text-anchor=\"\(anchor)\" class=\"mark\" fill=\"\(color)\">\(escapeHTML(label))</text>\n"
        }
    }

    /// Text beside a point; near the right edge it goes to the point's left.
    mutating func label(_ text: String, at p: (Double, Double), color: String = "#333", dx: Double = 6, dy: Double = -6) {
        let x = px(p.0)
        let flip = x + dx + Double(text.count) * 6.5 > left + plotWidth
        let anchor = flip ? " text-anchor=\"end\"" : ""
        body += "<text x=\"\(n(flip ? x - dx : x + dx))\" y=\"\(n(py(p.1) + dy))\"\(anchor) class=\"small\" fill=\"\(color)\">\(escapeHTML(text))</text>\n"
    }

    /// The finished chart.
    func svg() -> String {
        var out = "<svg class=\"chart\" viewBox=\"0 0 \(n(width)) \(n(height))\" width=\"\(n(width))\" height=\"\(n(height))\" role=\"img\">\n"
        out += "<title>\(escapeHTML(title))</title>\n"
        out += "<text x=\"\(n(left))\" y=\"18\" class=\"title\">\(escapeHTML(title))</text>\n"
        out += "<rect x=\"\(n(left))\" y=\"\(n(top))\" width=\"\(n(plotWidth))\" height=\"\(n(plotHeight))\" fill=\"#fcfcfd\" stroke=\"#c8ccd4\"/>\n"
        for t in ticks(x) {
            let xx = px(t)
            out += "<line x1=\"\(n(xx))\" x2=\"\(n(xx))\" y1=\"\(n(top))\" y2=\"\(n(top + plotHeight))\" class=\"grid\"/>\n"
            // Labels at the edges stay inside the chart.
            let anchor = xx > left + plotWidth - 36 ? "end" : xx < left + 36 ? "start" : "middle"
            out += "<text x=\"\(n(xx))\" y=\"\(n(top + plotHeight + 16))\" text-anchor=\"\(anchor)\" class=\"tick\">\(escapeHTML(x.format(t)))</text>\n"
        }
        for t in ticks(y) {
            let yy = py(t)
            out += "<line x1=\"\(n(left))\" x2=\"\(n(left + plotWidth))\" y1=\"\(n(yy))\" y2=\"\(n(yy))\" class=\"grid\"/>\n"
            out += "<text x=\"\(n(left - 6))\" y=\"\(n(yy + 4))\" text-anchor=\"end\" class=\"tick\">\(escapeHTML(y.format(t)))</text>\n"
        }
        out += "<text x=\"\(n(left + plotWidth / 2))\" y=\"\(n(height - 8))\" text-anchor=\"middle\" class=\"axis\">\(escapeHTML(x.label))</text>\n"
        out += "<text transform=\"translate(14 \(n(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\" class=\"axis\">\(escapeHTML(y.label))</text>\n"
        out += "<g>\n" + body + "</g>\n"
        // The legend, right-aligned above the plot.
        var lx = left + plotWidth
        for entry in legend.reversed() {
            let w = Double(entry.text.count) * 6.8 + 32
            lx -= w
            let dash = entry.dashed ? " stroke-dasharray=\"5 3\"" : ""
            out += "<line x1=\"\(n(lx))\" x2=\"\(n(lx + 16))\" y1=\"\(n(top - 9))\" y2=\"\(n(top - 9))\" stroke=\"\(entry.color)\" stroke-width=\"4\"\(dash)/>\n"
            out += "<text x=\"\(n(lx + 20))\" y=\"\(n(top - 5))\" class=\"small\">\(escapeHTML(entry.text))</text>\n"
        }
        return out + "</svg>\n"
    }

    private func ticks(_ a: Axis) -> [Double] {
        switch a.scale {
        case .linear:
            let step = Self.niceStep((a.max - a.min) / 6)
            var t = (a.min / step).rounded(.up) * step
            var out: [Double] = []
            while t <= a.max + step * 1e-9 && out.count < 20 {
                out.append(abs(t) < step * 1e-9 ? 0 : t)
                t += step
            }
            return out
        case .log:
            let base = a.powersOfTwo ? 2.0 : 10.0
            let lo = Int((log(a.min) / log(base)).rounded(.down)), hi = Int((log(a.max) / log(base)).rounded(.up))
            let every = Swift.max(1, Int((Double(hi - lo) / 6).rounded(.up)))
            var out: [Double] = []
            for e in lo...Swift.max(lo, hi) where e % every == 0 {
                let v = pow(base, Double(e))
                if v >= a.min && v <= a.max { out.append(v) }
            }
            return out
        case .time:
            let span = (a.max - a.min)
            let steps: [Double] = [60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172_800, 604_800]
            let step = steps.first { span / $0 <= 8 } ?? 604_800
            var t = (a.min / step).rounded(.up) * step
            var out: [Double] = []
            while t <= a.max && out.count < 20 {
                out.append(t)
                t += step
            }
            return out
        }
    }

    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let p = pow(10, log10(raw).rounded(.down))
        let f = raw / p
        return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p
    }

    /// Coordinates with one decimal: enough for a screen, and small.
    private func n(_ v: Double) -> String { Format.decimal(v.isFinite ? v : 0, 1) }
}

/// `HH:MM` in UTC, the date in front at midnight; for time axes in epoch seconds.
func clockText(_ seconds: Double) -> String {
    let t = Timestamp(nanoseconds: Int64(seconds * 1e9))
    let s = t.secondOfDay
    let hm = (s / 3600 < 10 ? "0" : "") + "\(s / 3600):" + (s / 60 % 60 < 10 ? "0" : "") + "\(s / 60 % 60)"
    if s == 0 { return String(t.rfc3339.prefix(10)) }
    return hm
}

/// Text for HTML and SVG.
func escapeHTML(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.count)
    for c in s {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        default: out.append(c)
        }
    }
    return out
}
