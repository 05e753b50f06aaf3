import ChunkModel
import Config
import Foundation

/// The report's per-alert charts: the principal's traffic around an alert and
/// the baseline it was judged against.
extension TuningReport {
    /// The baseline as the alert's own figures give it: a centre, a band of one
    /// spread either side, and roughly where the candidate's threshold alerts.
    struct Band {
        var center: Double
        var low: Double
        var high: Double
        var limit: Double?
        var centerName: String
        var bandName: String
    }

    static func band(_ ctx: AlertContext) -> Band? {
        let a = ctx.firing
        var b: [String: Double] = [:]
        for (k, v) in a.baseline ?? [] { b[k] = v }
        let t = a.threshold ?? 0
        let c = ctx.candidate.config
        switch ctx.detector {
        case "size":
            guard let median = b["median"], let mad = b["mad"] else { return nil }
            let spread = 1.4826 * log2(1 + mad / Swift.max(median, 1))
            let limit = Swift.max((median + 1) * exp2(t * spread) - 1, c.size.minRatio * median)
            return Band(center: median, low: Swift.max(median - mad, 1), high: median + mad, limit: limit,
                        centerName: "usual size (median)", bandName: "± MAD")
        case "rate":
            guard let mean = b["mean"], let sd = b["sd"] else { return nil }
            let collapse = a.message.contains("collapse")
            let limit = collapse ? nil : Swift.max(mean + t * sd, c.rate.minRatio * mean, Double(c.rate.minCount))
            return Band(center: mean, low: Swift.max(mean - sd, 0), high: mean + sd, limit: limit,
                        centerName: "usual chunks per bucket", bandName: "± spread")
        case "volume":
            guard let mean = b["bucket_mean"], let sd = b["bucket_sd"] else { return nil }
            let spike = t == c.volume.threshold
            let limit = spike ? Swift.max(mean + t * sd, c.volume.minRatio * mean, Double(c.volume.minBytes)) : nil
            return Band(center: mean, low: Swift.max(mean - sd, 1), high: mean + sd, limit: limit,
                        centerName: "usual bytes per bucket", bandName: "± sd")
        case "changepoint":
            guard let sd = b["sd_log2"] else { return nil }
            if let median = b["median"] {
                return Band(center: median, low: median * exp2(-sd), high: median * exp2(sd), limit: nil,
                            centerName: "usual size (median)", bandName: "± one chunk's sd")
            }
            if let mean = b["mean"] {
                return Band(center: mean, low: mean * exp2(-sd), high: mean * exp2(sd), limit: nil,
                            centerName: "usual chunks per bucket", bandName: "± se")
            }
            return nil
        default:
            return nil
        }
    }

    func contextChart(_ ctx: AlertContext) -> String {
        let a = ctx.firing
        let f = ctx.final
        let band = Self.band(ctx)
        let sizes = ctx.series == .chunkSizes
        let bytes: Bool
        let yLabel: String
        switch ctx.series {
        case .chunkSizes: (bytes, yLabel) = (true, "chunk size (log)")
        case .bytes(let per): (bytes, yLabel) = (true, "bytes per \(ChunkWatchConfig.durationText(per)) (log)")
        case .chunks(let per): (bytes, yLabel) = (false, "chunks per \(ChunkWatchConfig.durationText(per))")
        }
        var values = ctx.points.map(\.value)
        if let band { values += [band.low, band.high, band.center] + (band.limit.map { [$0] } ?? []) }
        if let o = a.observed, ctx.detector != "silence", ctx.detector != "novelty", ctx.detector != "integrity" { values.append(o) }
        let positive = values.filter { $0 > 0 }
        let yMin = bytes ? Swift.max((positive.min() ?? 1) / 1.6, 0.5) : 0
        let yMax = bytes ? (positive.max() ?? 10) * 1.6 : Swift.max((values.max() ?? 1) * 1.12, 1)
        let x0 = ctx.from.epochSeconds, x1 = ctx.to.epochSeconds
        var plot = SVGPlot(
            title: "\(a.principal)\(a.resource.map { " on \($0)" } ?? "") — \(a.severity.name), score \(Format.decimal(f.score, 3))",
            x: .init(min: x0, max: x1, scale: .time, label: "event time (UTC)", format: clockText),
            y: .init(min: yMin, max: yMax, scale: bytes ? .log : .linear, label: yLabel,
                     format: { bytes ? Format.bytes($0) : Format.decimal($0, 1) }, powersOfTwo: bytes),
            height: 280)
        for l in labels?.labels ?? [] where l.principal == a.principal && l.end >= ctx.from && l.start <= ctx.to {
            plot.vband(Swift.max(l.start.epochSeconds, x0), Swift.min(l.end.epochSeconds, x1), color: "#16a34a", opacity: 0.12,
                       legend: "labelled \(l.kind.isEmpty ? "anomaly" : l.kind)")
        }
        plot.vband(a.firstTs.epochSeconds, Swift.max(f.lastTs.epochSeconds, a.firstTs.epochSeconds), color: "#f97316", opacity: 0.22,
                   legend: "alert open (\(f.count)×)")
        if sizes {
            var pts = ctx.points.map { ($0.ts.epochSeconds, $0.value) }
            if pts.count > 6000 {
                let step = pts.count / 6000 + 1
                pts = pts.enumerated().filter { $0.offset % step == 0 }.map(\.element)
            }
            plot.dots(pts, color: "#52606d", r: 1.7, opacity: 0.45, legend: "chunks")
        } else {
            let pts = ctx.points.map { ($0.ts.epochSeconds, $0.value) }
            let width: Double
            switch ctx.series {
            case .chunks(let per), .bytes(let per): width = Double(per.nanosecondsClamped) / 1e9
            case .chunkSizes: width = 0
            }
            // Buckets without traffic are drawn as zero (or the floor of a log axis).
            var filled: [(Double, Double)] = []
            for (i, p) in pts.enumerated() {
                if i > 0 && p.0 - pts[i - 1].0 > width * 1.5 {
                    filled.append((pts[i - 1].0 + width, yMin))
                    filled.append((p.0 - width, yMin))
                }
                filled.append((p.0, Swift.max(p.1, yMin)))
            }
            plot.steps(filled, until: (pts.last?.0 ?? x0) + width, color: "#52606d", legend: "observed")
        }
        if let band {
            plot.hband(band.low, band.high, from: x0, to: a.firstTs.epochSeconds, color: "#2563eb", opacity: 0.28, legend: band.bandName)
            plot.line([(x0, band.center), (a.firstTs.epochSeconds, band.center)], color: "#1d4ed8", width: 2, dash: "4 3", legend: band.centerName)
            if let limit = band.limit {
                plot.line([(x0, limit), (a.firstTs.epochSeconds, limit)], color: Self.budgetColor, width: 1.5, dash: "7 4",
                          legend: "≈ alert limit at \(Format.decimal(a.threshold ?? 0, 2))")
            }
        }
        if let o = a.observed, ["size", "rate", "volume", "changepoint"].contains(ctx.detector) {
            plot.dots([(a.firstTs.epochSeconds, Swift.max(o, yMin))], color: Self.budgetColor, r: 5.5, legend: "alerted")
        }
        var caption = "<p class=\"caption\">\(escapeHTML(f.message))<br><code>"
        var figures = ["first_ts \(a.firstTs.rfc3339)", "count \(f.count)"]
        if let o = a.observed { figures.append("observed \(Format.decimal(o, 1))") }
        if let e = a.expected { figures.append("expected \(Format.decimal(e, 1))") }
        if let t = a.threshold { figures.append("threshold \(Format.decimal(t, 2))") }
        for (k, v) in a.baseline ?? [] { figures.append("\(k) \(Format.decimal(v, 2))") }
        caption += escapeHTML(figures.joined(separator: " · ")) + "</code></p>\n"
        return plot.svg() + caption
    }
}
