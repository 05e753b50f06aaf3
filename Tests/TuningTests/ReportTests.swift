import ChunkModel
import Config
import Testing
import Tuning

@Suite("HTML report")
struct ReportTests {
    /// One page, nothing fetched: inline CSS and SVG, no scripts, no URLs.
    @Test func theReportIsSelfContainedAndDrawsEachPart() throws {
        let stream = Fixture.traffic
        let labels = LabelSet(stream.labels, kinds: .all)
        let spec = try SweepSpec.parse("threshold=2:6:1", detector: "size")
        let t = tuner(stream.path)
        let result = try t.sweep([SweepRequest(detector: "size", sweeps: [spec])], base: ChunkWatchConfig(), labels: labels)[0]
        let pick = BudgetPick(result, budget: 4)
        let chosen = try #require(pick.chosen)
        let contexts = try t.alertContexts(for: [result.rows[chosen]], base: ChunkWatchConfig())
        #expect(!contexts.isEmpty && contexts.count <= 3)
        for c in contexts {
            #expect(!c.points.isEmpty, "no traffic gathered around \(c.final.id)")
            #expect(c.points.allSatisfy { $0.ts >= c.from && $0.ts <= c.to })
            // The alerted chunk itself is among the points.
            #expect(c.points.contains { $0.ts == c.firing.firstTs && $0.value == c.firing.observed })
        }
        let html = TuningReport(
            choices: [.init(result: result, pick: pick, chosen: chosen)], labels: labels, contexts: contexts, inputs: ["traffic.ndjson"],
            generated: .zero
        ).html()
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(!html.contains("<script"))
        // Resources are named by URLs (https://api/…) in the text, but nothing is loaded.
        for reference in ["src=", "href=", "url(", "@import", "<link", "<img", "<iframe", "<object"] {
            #expect(!html.contains(reference), "the page loads something: \(reference)")
        }
        #expect(html.contains("Alerts per principal-day against threshold"))
        #expect(html.contains("Precision against recall"))
        #expect(html.contains("budget 4/principal-day"))
        #expect(html.contains("chosen threshold=\(result.rows[chosen].candidate.settings[0].text)"))
        let charts = html.components(separatedBy: "<svg").count - 1
        #expect(charts == 3 + contexts.count, "\(charts) charts")
        #expect(html.components(separatedBy: "<tr").count - 1 == result.rows.count + 1)
    }
}
