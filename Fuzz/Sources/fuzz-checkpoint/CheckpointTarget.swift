#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Alerting
import ChunkModel
import Detectors
import FuzzSupport
import Pipeline

/// Checkpoints: any bytes as the pipeline's part of a checkpoint, restored by
/// `Engine.restore` (what `serve` does at start, through `BinaryCoding` into
/// the sequencer, each built-in detector's baselines, the open alerts and the
/// coverage counts).
///
/// Checks, besides "no crash": a checkpoint that restores can be taken again,
/// and that one restores into a fresh engine and gives a checkpoint of the
/// same size (the bytes can differ only by dictionary order). Then the
/// restored pipeline takes events, ticks and an end of stream, as the daemon
/// would after a restart: that finds restored states which decode but break
/// a baseline's invariants (Fuzz/Regressions/checkpoint). With
/// `CHUNKWATCH_FUZZ_CHECKPOINT_EVENTS=0` it stops after the restores.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpoint(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    var splits = Splits(input)
    let engine = makeEngine()
    do {
        try engine.restore(Array(input))
    } catch {
        return 0
    }
    let first: [UInt8]
    do {
        first = try engine.checkpoint()
    } catch {
        fail("a restored pipeline cannot be checkpointed: \(error)")
    }
    let again = makeEngine()
    do {
        try again.restore(first)
    } catch {
        fail("a checkpoint just taken does not restore: \(error)")
    }
    do {
        let second = try again.checkpoint()
        require(second.count == first.count, "checkpoints of \(first.count) and \(second.count) bytes of one state")
    } catch {
        fail("a restored pipeline cannot be checkpointed: \(error)")
    }

    guard feedEvents else { return 0 }
    // Event times outside 1970–2200 are the range checks' business (another
    // part of issue 9): only a plausible stream position is carried on.
    let watermark = engine.watermark.nanoseconds
    guard watermark >= 0 && watermark < 7_258_118_400_000_000_000 else { return 0 }
    var ts = Timestamp(nanoseconds: watermark)
    for i in 0..<8 {
        var e = ChunkEvent(ts: ts, principal: principals[splits.pick(principals.count)], size: Int64(splits.pick(1 << 20)))
        e.conn = Symbol("c-\(i % 3)")
        e.seq = Int64(i)
        engine.process(e, scores: nil)
        ts = ts + .milliseconds(splits.pick(30_000))
    }
    do {
        try engine.finish()
    } catch {
        fail("finish after a restore: \(error)")
    }
    return 0
}

let feedEvents: Bool = {
    guard let v = getenv("CHUNKWATCH_FUZZ_CHECKPOINT_EVENTS") else { return true }
    return String(cString: v) != "0"
}()

/// Principals of the events fed after a restore: the seeds' checkpoints know
/// some of them (their baselines get used), others are new.
let principals = ["svc-billing", "svc-search", "batch-etl", "p", "fuzz-new"].map { Symbol($0) }

func makeEngine() -> Engine {
    Engine(registry: .builtIn(), symbols: SymbolTable(capacity: 64), sink: NoOpAlertSink(), wallClock: { .zero })
}
