import ChunkModel
import Synchronization

/// The names behind each `TapSource`, and a drop counter per source.
///
/// Registration takes a lock and allocates; it happens once per listener or
/// connection kind, off the data path. The per-source drop counters are
/// preallocated so that a drop on the hot path is one atomic add.
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
    private let drops: UnsafeMutablePointer<Atomic<Int>>

    init(maxSources: Int) {
        self.maxSources = max(1, maxSources)
        drops = .allocate(capacity: self.maxSources)
        for i in 0..<self.maxSources { (drops + i).initialize(to: Atomic(0)) }
    }

    deinit {
        drops.deinitialize(count: maxSources)
        drops.deallocate()
    }

    func register(principal: String, resource: String?, hop: String?) throws(TapError) -> TapSource {
        guard !principal.isEmpty, principal.utf8.count <= 256 else {
            throw TapError("a principal must have 1 to 256 bytes (got \(principal.utf8.count))")
        }
        var out = OutputBuffer(capacity: 64)
        out.append(",\"principal\":")
        out.append(jsonString: principal)
        if let resource {
            out.append(",\"resource\":")
            out.append(jsonString: resource)
        }
        if let hop {
            out.append(",\"hop\":")
            out.append(jsonString: hop)
        }
        let entry = Names(principal: principal, resource: resource, hop: hop, fragment: out.bytes)
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

    @inline(__always)
    func countDrop(_ source: TapSource) {
        let i = Int(source.index)
        if i < maxSources { drops[i].add(1, ordering: .relaxed) }
    }

    func drops(of source: Int) -> Int { drops[source].load(ordering: .relaxed) }
}

/// Why the tap refused something (a registration), in words a proxy can log.
public struct TapError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
