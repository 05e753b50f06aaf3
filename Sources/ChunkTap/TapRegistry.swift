import ChunkModel
import Synchronization

/// The names behind each `TapSource`, and a drop counter per source.
///
/// Registration takes a lock and allocates; it happens once per listener or
/// connection kind, off the data path. The per-source drop counters are
/// preallocated so that a drop on the hot path is one atomic add.
@usableFromInline
final class TapRegistry: @unchecked Sendable {
    // @unchecked: `drops` points at atomics allocated once in init and freed in
    // deinit; every access goes through the atomics themselves.
    struct Names: Sendable {
        var principal: String
        var resource: String?
        var hop: String?
        /// `,"principal":…,"resource":…,"hop":…` ready to splice into a line.
        var fragment: [UInt8]
    }

    let maxSources: Int
    private let names = Mutex<[Names]>([])
    /// One drop counter per source, then one for records of a source this
    /// registry did not hand out (another tap's).
    private let drops: UnsafeMutablePointer<Atomic<Int>>

    init(maxSources: Int) {
        self.maxSources = max(1, maxSources)
        drops = .allocate(capacity: self.maxSources + 1)
        for i in 0...self.maxSources { (drops + i).initialize(to: Atomic(0)) }
    }

    deinit {
        drops.deinitialize(count: maxSources + 1)
        drops.deallocate()
    }

    func register(principal: String, resource: String?, hop: String?) throws(TapError) -> TapSource {
        guard !principal.isEmpty, principal.utf8.count <= 256 else {
            throw TapError("a principal must have 1 to 256 bytes (got \(principal.utf8.count))")
        }
        // The collector refuses longer names as a frame error (docs/wire-format.md).
        for (what, name) in [("resource", resource), ("hop", hop)] where (name?.utf8.count ?? 0) > 4096 {
            throw TapError("a \(what) must have at most 4096 bytes (got \(name!.utf8.count))")
        }
        let entry = Names(
            principal: principal, resource: resource, hop: hop,
            fragment: TapLineFormat.namesFragment(principal: principal, resource: resource, hop: hop))
        let index: Int? = names.withLock { names in
            if let existing = names.firstIndex(where: {
                $0.principal == principal && $0.resource == resource && $0.hop == hop
            }) {
                return existing
            }
            guard names.count < maxSources else { return nil }
            names.append(entry)
            return names.count - 1
        }
        guard let index else { throw TapError("all \(maxSources) tap sources are registered (settings.maxSources)") }
        return TapSource(index: UInt32(index))
    }

    /// The names registered so far; the forwarder takes one per batch.
    func snapshot() -> [Names] { names.withLock { $0 } }

    /// The drop path's only write: one atomic add, wrapping (no overflow check,
    /// no compare-and-swap loop).
    @usableFromInline @inline(never)
    func countDrop(_ source: TapSource) {
        drops[min(Int(source.index), maxSources)].wrappingAdd(1, ordering: .relaxed)
    }

    func drops(of source: Int) -> Int { drops[source].load(ordering: .relaxed) }

    /// Drops of every source: `Stats.dropped`.
    var totalDrops: Int {
        (0...maxSources).reduce(0) { $0 &+ drops[$1].load(ordering: .relaxed) }
    }
}

/// Why the tap refused something (a registration), in words a proxy can log.
public struct TapError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
