import Config
import Testing

@Suite struct ServeSettingsTests {
    @Test func theServeSectionIsReadCheckedAndWrittenBack() throws {
        let config = try ChunkWatchConfig.load(yaml: """
            serve:
              drain_timeout: 30s
              auth_timeout: 2s
              ingest_idle_timeout: 10m
              http_idle_timeout: 500ms
              http_request_timeout: 90s
              ingest_max_connections: 5000
              http_max_connections: 200
              max_source_bytes: 65536
            """)
        #expect(config.serve.drainTimeout == .seconds(30))
        #expect(config.serve.authTimeout == .seconds(2))
        #expect(config.serve.ingestIdleTimeout == .seconds(600))
        #expect(config.serve.httpIdleTimeout == .milliseconds(500))
        #expect(config.serve.httpRequestTimeout == .seconds(90))
        #expect(config.serve.ingestMaxConnections == 5000)
        #expect(config.serve.httpMaxConnections == 200)
        #expect(config.serve.maxSourceBytes == 65536)
        #expect(try ChunkWatchConfig.load(yaml: config.yaml()) == config)
        #expect(ChunkWatchConfig().yaml().contains("serve:\n"))
    }

    @Test func badServeValuesAreErrorsAtTheirLine() {
        let (_, problems) = ChunkWatchConfig.check(yaml: "serve:\n  drain_timeout: soon\n  auth_timeout: 1ms\n  colour: blue\n")
        #expect(problems.map(\.line) == [2, 3, 4])
        #expect(problems[0].message.contains("serve.drain_timeout: expected a duration"))
        #expect(problems[1].message.contains("serve.auth_timeout: '1ms' is out of range: a duration from 100ms"))
        #expect(problems[2].message.contains("unknown key 'colour' in serve"))
    }

    @Test func theCommandLineOverridesGoThroughTheSameChecks() throws {
        var config = ChunkWatchConfig()
        try config.set(serve: "drain_timeout", to: "2s")
        #expect(config.serve.drainTimeout == .seconds(2))
        #expect(throws: TuningError.self) { try config.set(serve: "drain_timeout", to: "-1s") }
        #expect(throws: TuningError.self) { try config.set(serve: "ingest_max_connections", to: "many") }
        #expect(throws: TuningError.self) { try config.set(serve: "nothing", to: "1") }
    }
}
