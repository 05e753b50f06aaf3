import ChunkModel
import Config
import Store

/// `GET /v1/baselines`: what the daemon knows of each principal, and each
/// detector's key counts. Built on the pipeline thread with the workers paused.
struct BaselineSnapshot: Encodable, Sendable {
    struct Principal: Encodable, Sendable {
        var principal: String
        var events: Int
        var bytesIn: Int64
        var bytesOut: Int64
        var firstTs: String
        var lastTs: String
        var resources: [String]
    }
    struct DetectorKeys: Encodable, Sendable {
        var name: String
        var keyedBy: String
        var keysTracked: Int
        var keysEvicted: Int
    }

    var watermark: String?
    var eventsAccepted: Int
    var eventsRejected: Int
    var principalsForgotten: Int
    var principals: [Principal]
    var detectors: [DetectorKeys]

    init(_ control: PipelineControl, principal: String?) {
        let symbols = control.symbols
        watermark = control.watermark > Timestamp(nanoseconds: .min) ? control.watermark.rfc3339 : nil
        eventsAccepted = control.counts.accepted
        eventsRejected = control.counts.totalRejected
        let activity = control.activity
        principalsForgotten = activity.forgotten
        var list: [Principal] = []
        for (symbol, e) in activity.entries {
            let name = symbols.display(symbol)
            if let principal, principal != name { continue }
            list.append(
                Principal(
                    principal: name, events: e.events, bytesIn: e.bytesIn, bytesOut: e.bytesOut, firstTs: e.firstTs.rfc3339,
                    lastTs: e.lastTs.rfc3339, resources: e.resources.map { symbols.display($0) }.sorted()))
        }
        principals = list.sorted { $0.principal < $1.principal }
        var keys: [String: DetectorKeys] = [:]
        var order: [String] = []
        control.withDetectors { detectors in
            for d in detectors {
                if keys[d.name] == nil {
                    order.append(d.name)
                    keys[d.name] = DetectorKeys(name: d.name, keyedBy: d.keyedBy, keysTracked: 0, keysEvicted: 0)
                }
                keys[d.name]!.keysTracked += d.keyStats.tracked
                keys[d.name]!.keysEvicted += d.keyStats.evicted
            }
        }
        detectors = order.compactMap { keys[$0] }
    }
}

/// `GET /v1/detectors/{name}`: its parameters as the configuration file
/// writes them, which of them change live, and the changes made so far.
struct DetectorView: Encodable, Sendable {
    var name: String
    var enabled: Bool
    var parameters: [String: String]
    var liveParameters: [String]
    var changes: [ChangeView]?

    init(_ config: ChunkWatchConfig, _ name: String) {
        self.name = name
        enabled = !config.disabled.contains(name)
        let texts = config.parameterTexts(detector: name) ?? []
        parameters = Dictionary(uniqueKeysWithValues: texts.map { ($0.key, $0.value) })
        liveParameters = texts.filter(\.live).map(\.key)
    }
}

struct ChangeView: Encodable, Sendable {
    var at: String
    var source: String
    var token: String?
    var parameter: String
    var old: String
    var new: String

    init(_ c: DetectorSettingsStore.Change) {
        at = c.at.rfc3339
        source = c.source
        token = c.token
        parameter = c.parameter
        old = c.oldValue
        new = c.newValue
    }
}
