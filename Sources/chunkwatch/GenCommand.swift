#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import ChunkModel
import Workload

/// `chunkwatch gen`: the synthetic workload, as fast as it can be written or
/// paced in real time for feeding a running daemon.
struct GenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gen",
        abstract: "Generate a synthetic chunk-event workload with injected anomalies (NDJSON).",
        discussion: """
            A population of services (~60 %: steady all day, 0.5-8 chunks/s, ±20 % diurnal), people \
            (~30 %: 08:00-18:00 UTC on weekdays, in sessions) and batch jobs (~10 %: 20-40 minutes at a fixed \
            time of day), with lognormal chunk sizes per principal × resource × dir, connections, seqs, \
            checksums and, for some principals, a second observation at the sink hop. The same options \
            always give the same bytes.

            Each requested anomaly is injected on its own principal, after --warmup (by default the first quarter of \
            the run and not before hour 2), and recorded in --labels-out as {"principal","start","end","kind"}, the labels \
            file of `tune`:
              size         1-3 chunks 50-500× the key's median size, within a minute
              rate         8-15× the principal's rate for 5-15 minutes
              volume       extra outbound chunks doubling outbound bytes for 2 hours
              integrity    sink checksum ≠ gateway's, checksum ≠ expected_checksum,
                           and a replayed seq
              novelty      a resource never used before; and a person active at
                           night (03:00 UTC when the run has one after its first
                           quarter, else late evening)
              changepoint  one key's median size ×1.6-2.5 until the end of the run
              silence      a service goes quiet for 90 minutes, then resumes
            Kinds a small population or a short run cannot hold are reported on stderr; with the default \
            start all fit from 9 principals over 12 hours, or 12 principals over 6 hours.

            --profile realistic (not the default yet: the detectors are not calibrated for it) models a real \
            gateway, where they raise many false alerts: sessions arriving as a non-homogeneous Poisson process, \
            each on its own connection with a Pareto number of chunks (alpha 1.3-1.8, at most 2,000) spaced by \
            lognormal think times; per key a 10-20 % bulk mode 20-100× the usual size, many chunks exactly 4096, \
            8192, 16384 or 65536 bytes; people in their own time zones with a lunch dip and no weekends; services \
            round the clock with a diurnal swing, quieter weekends and a Monday ramp; nightly and weekly jobs at \
            25-60× their daytime trickle; replica groups (svc-NAME-a, -b, …) sharing one load; slow growth; \
            unlabelled deploy gaps of 5-20 minutes and a service doubling over a day. Each kind is injected as \
            its scenarios, named in the labels' "scenario":
              size         size_spike (600-2,000× the usual size)
              rate         burst (8-15× for 5-15 min), moderate_rise (+50 % for 15 min)
              volume       exfil_drip     integrity  checksum_mismatch
              novelty      new_resource, late_work (an hour past the day's close),
                           night_activity (03:00 local on a weekday)
              changepoint  size_shift
              silence      service_stop (1 h), replica_stop (one replica 45 min
                           while its siblings go on)
            It writes about 3,500 events per principal-hour (30 principals over 36 h: about 3.7 million).

            Volume: the defaults (20 principals, 24 h) give about 1.05 million events (~240 MB; \
            0.9-1.5 million depending on the seed), roughly 2,200 events per principal-hour. A release \
            build writes about 1.8 million lines per second on one core.
            """
    )

    @Option(help: ArgumentHelp("The family of traffic: steady (default) or realistic, described below.", valueName: "NAME"))
    var profile: TrafficProfile = .steady

    @Option(help: ArgumentHelp("Number of principals (at least 1).", valueName: "N"))
    var principals: Int = 20

    @Option(help: ArgumentHelp("Hours of event time to cover (fractions allowed).", valueName: "H"))
    var hours: Double = 24

    @Option(help: ArgumentHelp("Random seed; the same seed gives byte-identical output.", valueName: "S"))
    var seed: UInt64 = 1

    @Option(
        help: ArgumentHelp(
            "Anomalies to inject: a comma-separated list of size, rate, volume, integrity, novelty, changepoint, silence; 'all' (default) or 'none' for a clean stream.",
            valueName: "KIND,..."))
    var anomalies: String = "all"

    @Option(
        name: .customLong("warmup"),
        help: ArgumentHelp(
            "Hours of clean traffic before the first anomaly (default: the first quarter of the run, at least 2).",
            valueName: "H"))
    var warmupHours: Double?

    @Option(
        name: .customLong("labels-out"),
        help: ArgumentHelp("Write the injected anomaly windows here as NDJSON labels.", valueName: "FILE"))
    var labelsOut: String?

    @Option(
        help: ArgumentHelp(
            "Event time of the start of the run, RFC 3339 (default 2026-11-23T00:00:00Z, a Monday; with --live, now).",
            valueName: "RFC3339"))
    var start: String?

    @Option(help: ArgumentHelp("Write events to this file; - is stdout; tcp://HOST:PORT sends them to a daemon's ingest listener.", valueName: "FILE"))
    var output: String = "-"

    @Flag(
        help: ArgumentHelp(
            "Pace output in real time: each event is written when the wall clock reaches its offset from the start, and output is flushed after every batch."
        ))
    var live = false

    @Option(help: ArgumentHelp("With --live, run this many times faster than real time.", valueName: "X"))
    var speed: Double = 1

    func validate() throws {
        if principals < 1 { throw CLIError("--principals must be at least 1 (got \(principals))") }
        if principals > WorkloadConfig.maxPrincipals {
            throw CLIError("--principals must be at most \(WorkloadConfig.maxPrincipals) (got \(principals))")
        }
        if !(hours > 0) || !hours.isFinite { throw CLIError("--hours must be a positive number (got \(hours))") }
        if hours > WorkloadConfig.maxHours {
            throw CLIError("--hours must be at most \(Int(WorkloadConfig.maxHours)) (got \(hours))")
        }
        if let warmupHours, !(warmupHours >= 0 && warmupHours < hours) {
            throw CLIError("--warmup must be at least 0 and less than --hours \(Format.decimal(hours, 1)) (got \(warmupHours))")
        }
        if !(speed > 0) || !speed.isFinite { throw CLIError("--speed must be a positive number (got \(speed))") }
        if case .failure(let unknown) = AnomalyKind.parseList(anomalies) { throw CLIError(unknown.description) }
        if let start, Timestamp(rfc3339: start) == nil {
            throw CLIError("--start '\(start)' is not an RFC 3339 time such as 2026-11-23T00:00:00Z")
        }
        // What it writes must be accepted by backfill and serve (docs/formats.md).
        if let start, let t = Timestamp(rfc3339: start),
            !t.isAcceptedEventTime || !(t + .seconds(hours * 3600)).isAcceptedEventTime
        {
            throw CLIError("--start '\(start)' with --hours \(Format.decimal(hours, 1)) leaves the accepted event times, 1970-01-01 up to 2200-01-01")
        }
    }

    func run() throws {
        // A reader that goes away (`gen | head`) shows up as EPIPE from write(2),
        // handled below, instead of a signal that kills the process.
        signal(SIGPIPE, SIG_IGN)
        do {
            try generate()
        } catch let error as CLIError where error.isBrokenPipe {
            return
        }
    }

    private func generate() throws {
        var config = WorkloadConfig(principals: principals, hours: hours, seed: seed, profile: profile, warmupHours: warmupHours)
        if case .success(let kinds) = AnomalyKind.parseList(anomalies) { config.anomalies = kinds }
        if let start, let t = Timestamp(rfc3339: start) {
            config.start = t
        } else if live {
            config.start = Timestamp(epochMilliseconds: GenCommand.wallClock() / 1_000_000)
        }
        var generator = try WorkloadGenerator(config: config)
        for unplaced in generator.unplacedAnomalies {
            GenCommand.warn("gen: not injected: \(unplaced)")
        }
        if let labelsOut {
            let file = try OutputFile(path: labelsOut)
            generator.writeLabels(to: &file.buffer)
            try file.close()
        }
        let out = try OutputFile(path: output)
        if live {
            try pace(&generator, to: out, start: config.start)
        } else {
            while generator.fill(into: &out.buffer, upToBytes: out.flushThreshold) > 0 {
                try out.flush()
            }
        }
        try out.close()
    }

    /// Writes each event when the monotonic clock reaches its offset from the
    /// start (divided by --speed), flushing before every sleep so a reader on
    /// the other end of a pipe sees each batch at once.
    private func pace(_ generator: inout WorkloadGenerator, to out: OutputFile, start: Timestamp) throws {
        let wallStart = GenCommand.monotonicNow()
        while let next = generator.nextEventTime {
            let offset = Double(next.nanoseconds - start.nanoseconds) / speed
            let due = wallStart + Int64(offset.rounded(.up))
            let now = GenCommand.monotonicNow()
            if due > now {
                try out.flush()
                GenCommand.sleep(nanoseconds: due - now)
                continue
            }
            let reached = start.nanoseconds + Int64((Double(now - wallStart) * speed).rounded(.down))
            _ = generator.fill(into: &out.buffer, upToBytes: out.flushThreshold, before: Timestamp(nanoseconds: reached + 1))
            try out.lineDone()
        }
    }

    // MARK: - System

    static func monotonicNow() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    static func wallClock() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    static func sleep(nanoseconds: Int64) {
        var request = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }

    static func warn(_ message: String) {
        var line = "chunkwatch: " + message + "\n"
        line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }
}

extension TrafficProfile: ExpressibleByArgument {}
