import Config
import Detectors
import Pipeline
import Testing

@Suite struct ConfigTests {
    @Test func theDefaultConfigurationChecksCleanAndReadsBackAsTheDefaults() throws {
        let text = ChunkWatchConfig().yaml()
        let (config, problems) = ChunkWatchConfig.check(yaml: text)
        #expect(problems.isEmpty, "\(problems)")
        #expect(config == ChunkWatchConfig())
        // Every key carries a comment.
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (i, line) in lines.enumerated() where line.contains(":") && !line.hasPrefix("#") && !line.trimmingCharacters(in: .whitespaces).hasPrefix("#") {
            let previous = i > 0 ? lines[i - 1].trimmingCharacters(in: .whitespaces) : ""
            #expect(previous.hasPrefix("#") || line.hasSuffix("detectors:"), "no comment above '\(line)'")
        }
    }

    @Test func valuesAreApplied() throws {
        let config = try ChunkWatchConfig.load(yaml: """
            pipeline:
              workers: 3
              tick: 30s
            detectors:
              size:
                threshold: 7.5
                window: 128
                cooldown: 15m
              rate:
                enabled: false
                bucket: 2m
            """)
        #expect(config.pipeline.workers == 3)
        #expect(config.pipeline.tick == .seconds(30))
        #expect(config.size.threshold == 7.5)
        #expect(config.size.window == 128)
        #expect(config.size.cooldown == .seconds(900))
        #expect(config.rate.bucket == .seconds(120))
        #expect(!config.registry().names.contains("rate"), "rate is disabled")
        #expect(config.registry().names.contains("size"))
        let size = try #require(config.registry().makeAll().first as? SizeDetector)
        #expect(size.settings.threshold == 7.5)
    }

    @Test func everyProblemIsReportedWithItsLine() {
        let (_, problems) = ChunkWatchConfig.check(yaml: """
            pipeline:
              workers: many
            detectors:
              size:
                treshold: 5
                window: 1
              rate:
                cooldown: soon
              nonsense:
                x: 1
            extra: true
            """, file: "c.yaml")
        let byLine = Dictionary(grouping: problems, by: { $0.line ?? 0 })
        #expect(problems.count == 6, "\(problems.map(\.description))")
        #expect(byLine[2]?.first?.message.contains("whole number") == true)
        #expect(byLine[5]?.first?.message.contains("unknown key 'treshold'") == true)
        #expect(byLine[6]?.first?.message.contains("at least 2") == true)
        #expect(byLine[8]?.first?.message.contains("duration") == true)
        #expect(byLine[9]?.first?.message.contains("unknown detector 'nonsense'") == true)
        #expect(byLine[11]?.first?.message.contains("unknown key 'extra'") == true)
        #expect(problems.first?.description.hasPrefix("c.yaml:2: ") == true)
    }

    @Test func brokenYAMLIsOneErrorWithALine() {
        let (_, problems) = ChunkWatchConfig.check(yaml: "detectors:\n  size: [1, 2\n", file: "b.yaml")
        #expect(problems.count == 1)
        #expect(problems.first?.line != nil)
        #expect(problems.first?.message.hasPrefix("not valid YAML") == true)
    }

    @Test func anEmptyFileIsTheDefaults() throws {
        #expect(try ChunkWatchConfig.load(yaml: "") == ChunkWatchConfig())
        #expect(try ChunkWatchConfig.load(yaml: "# nothing\n") == ChunkWatchConfig())
    }

    @Test(arguments: [("500ms", 0.5), ("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400), ("45", 45), ("1.5m", 90)])
    func durations(text: String, seconds: Double) throws {
        let config = try ChunkWatchConfig.load(yaml: "detectors:\n  size:\n    cooldown: \(text)\n")
        #expect(config.size.cooldown == .nanoseconds(Int64(seconds * 1e9)))
    }
}

@Suite struct AlertSinkConfigTests {
    @Test func theAlertsSectionSetsTheDaemonsSinks() throws {
        let config = try ChunkWatchConfig.load(yaml: """
            alerts:
              stdout: true
              file: /var/log/chunkwatch/alerts.ndjson
              alertmanager: http://127.0.0.1:9093
            """)
        #expect(config.alerts.stdout)
        #expect(config.alerts.file == "/var/log/chunkwatch/alerts.ndjson")
        #expect(config.alerts.alertmanager == "http://127.0.0.1:9093")
    }

    @Test func itsProblemsHaveTheirLines() {
        let (_, problems) = ChunkWatchConfig.check(yaml: """
            alerts:
              stdout: sometimes
              alertmanager: ftp://x
              webhook: http://x
            """, file: "c.yaml")
        #expect(problems.map(\.line) == [2, 3, 4])
        #expect(problems.last?.message.contains("known: stdout, file, alertmanager") == true)
    }

    @Test func theProxySectionGivesEachListenerItsPrincipal() throws {
        let config = try ChunkWatchConfig.load(yaml: """
            proxy:
              collector: 127.0.0.1:7071
              listeners:
                - listen: 127.0.0.1:6432
                  upstream: db.internal:5432
                  principal: svc-billing
                  resource: pg://orders
                - listen: :6433
                  upstream: 10.0.0.7:5432
                  principal: "etl job"
            """)
        #expect(config.proxy.collector == "127.0.0.1:7071")
        #expect(
            config.proxy.listeners == [
                ProxySettings.Listener(
                    listen: "127.0.0.1:6432", upstream: "db.internal:5432", principal: "svc-billing", resource: "pg://orders"),
                ProxySettings.Listener(listen: ":6433", upstream: "10.0.0.7:5432", principal: "etl job"),
            ])
        // What `config default` writes for a configured proxy reads back the same.
        #expect(try ChunkWatchConfig.load(yaml: config.yaml()).proxy == config.proxy)
    }

    @Test func proxyProblemsHaveTheirLines() {
        let (config, problems) = ChunkWatchConfig.check(yaml: """
            proxy:
              collector: nowhere
              listeners:
                - listen: 127.0.0.1:6432
                  upstream: 127.0.0.1:5432
                - listen: 127.0.0.1:6433
                  upstream: 127.0.0.1:99999
                  principal: a
                  port: 3
            """, file: "p.yaml")
        #expect(problems.map(\.line) == [2, 4, 7, 9], "\(problems)")
        #expect(problems[1].message.contains("'principal' is missing"))
        #expect(problems[3].message.contains("known: listen, upstream, principal, resource, hop"))
        #expect(config.proxy.listeners.isEmpty, "a listener with a problem is not used")
    }

    @Test func liveTuningChecksValuesAndRefusesWhatShapesBaselines() throws {
        var config = ChunkWatchConfig()
        try config.setLive(detector: "size", parameter: "threshold", to: "8.5")
        #expect(config.size.threshold == 8.5)
        #expect(throws: TuningError.self) { try config.setLive(detector: "size", parameter: "window", to: "10") }
        #expect(throws: TuningError.self) { try config.setLive(detector: "size", parameter: "threshold", to: "-2") }
        #expect(throws: TuningError.self) { try config.setLive(detector: "nope", parameter: "threshold", to: "1") }
        let diff = ChunkWatchConfig().liveDifferences(to: config)
        #expect(diff.count == 1 && diff[0].detector == "size" && diff[0].old == "6" && diff[0].new == "8.5")
        // A running detector takes the new value.
        let size = SizeDetector()
        config.retune(size)
        #expect(size.settings.threshold == 8.5)
    }
}
