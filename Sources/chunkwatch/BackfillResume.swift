#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ChunkModel
import Ingest
import Pipeline
import Store

/// Resuming an interrupted `backfill --db`: after each input read to its end,
/// the whole pipeline state goes into the store with the list of inputs done.
/// A later run over the same inputs (same paths, sizes and modification
/// times), with the same build and settings, restores it and skips them — so
/// its alerts are those of one uninterrupted run. The input that was being read
/// is read again from its start; the alerts it had already stored are not
/// stored twice (their ids are deterministic). A run that finishes clears it.
final class BackfillResume {
    struct InputStamp: Codable, Equatable {
        var path: String
        var size: Int64
        var modified: Int64

        init?(_ input: InputFile) {
            guard input.path != "-" else { return nil }
            var st = stat()
            guard stat(input.path, &st) == 0 else { return nil }
            path = input.path
            size = Int64(st.st_size)
            modified = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        }
    }

    struct Snapshot: Codable {
        var done: [InputStamp]
        var pipeline: [UInt8]
        var symbols: [UInt64: String]
        var events: Int
    }

    private let checkpoints: CheckpointStore
    private let fingerprint: String
    private let stamps: [InputStamp?]

    init(databasePath: String, fingerprint: String, inputs: [InputFile]) throws(StoreError) {
        checkpoints = try CheckpointStore(database: try Database(path: databasePath), kind: "backfill", keep: 1)
        self.fingerprint = fingerprint
        stamps = inputs.map(InputStamp.init)
    }

    /// Restores what an interrupted run over these inputs left; returns how
    /// many leading inputs it had done (0: start from the beginning) and a line
    /// for the user when it resumes or cannot.
    func resume(into engine: any AlertPipeline, symbols: SymbolTable) -> (skip: Int, note: String?) {
        guard let c = try? checkpoints.latest() else { return (0, nil) }
        guard c.fingerprint == fingerprint, let s = try? BinaryCoding.decode(Snapshot.self, from: c.data) else {
            return (0, "an interrupted backfill was recorded by another build or with other settings: starting from the beginning")
        }
        guard s.done.count <= stamps.count, zip(s.done, stamps).allSatisfy({ $0 == $1 }) else {
            return (0, "the interrupted backfill in the database was over other inputs: starting from the beginning")
        }
        do {
            try engine.restore(s.pipeline)
        } catch {
            return (0, "cannot resume the interrupted backfill (\(error)): starting from the beginning")
        }
        symbols.restore(names: s.symbols)
        return (s.done.count, "resuming an interrupted backfill: \(s.done.count) of \(stamps.count) inputs already done (\(s.events) events)")
    }

    /// Records that inputs 0…index are done, with the pipeline state after them.
    /// `stored` runs between taking the state (which emits every alert it
    /// holds) and saving it: the alerts must be in the store first.
    func fileDone(_ index: Int, engine: any AlertPipeline, symbols: SymbolTable, events: Int, stored: () throws -> Void) throws {
        let done = stamps.prefix(index + 1)
        // An input that cannot be stamped again (stdin) cannot be resumed after.
        guard done.allSatisfy({ $0 != nil }) else { return }
        let pipeline = try engine.checkpoint()
        try stored()
        let snapshot = Snapshot(done: done.map { $0! }, pipeline: pipeline, symbols: symbols.names, events: events)
        try checkpoints.save(
            .init(takenAt: .now(), watermark: .zero, events: events, fingerprint: fingerprint, data: try BinaryCoding.encode(snapshot)))
    }

    /// The run got to the end: nothing to resume.
    func finished() throws { try checkpoints.clear() }
}
