import Synchronization

/// The names behind symbols, shared by the readers that register them and the
/// stages that print them in alerts.
///
/// Bounded: names live in two generations of at most `capacity` each. When the
/// current generation fills it becomes the previous one and the oldest names
/// are forgotten, so a flood of random principals or connection ids cannot grow
/// memory without bound. A forgotten name that shows up again is registered
/// again; one that never does prints as `#` and its hash.
public final class SymbolTable: Sendable {
    struct Generations {
        var current: [UInt64: String] = [:]
        var previous: [UInt64: String] = [:]
        var generation = 0
    }

    private let state: Mutex<Generations>
    public let capacity: Int

    public init(capacity: Int = 1 << 16) {
        precondition(capacity > 0)
        self.capacity = capacity
        var g = Generations()
        // Reserved up front so registering a name never resizes; names of up to
        // 15 bytes (most connection ids) are stored inline by String, so a new
        // name usually allocates nothing.
        g.current.reserveCapacity(capacity)
        state = Mutex(g)
    }

    /// Records the name of a symbol and returns the generation it went into.
    @discardableResult
    public func register(_ symbol: Symbol, name: @autoclosure () -> String) -> Int {
        state.withLock { s in
            if s.current[symbol.rawValue] == nil {
                if s.current.count >= capacity {
                    s.previous = s.current
                    s.current = Dictionary(minimumCapacity: capacity)
                    s.generation += 1
                }
                s.current[symbol.rawValue] = s.previous[symbol.rawValue] ?? name()
            }
            return s.generation
        }
    }

    public func name(_ symbol: Symbol) -> String? {
        if symbol.isNone { return nil }
        return state.withLock { s in s.current[symbol.rawValue] ?? s.previous[symbol.rawValue] }
    }

    /// The name, or `#` and the hash when it was forgotten or never registered.
    public func display(_ symbol: Symbol) -> String {
        name(symbol) ?? "#" + String(symbol.rawValue, radix: 16)
    }

    public var generation: Int { state.withLock { $0.generation } }

    /// Every name it holds, for a checkpoint (baselines keep hashes; alerts need names).
    public var names: [UInt64: String] {
        state.withLock { s in s.previous.merging(s.current) { _, current in current } }
    }

    /// Every name it holds, older generation first, as the table's own
    /// dictionaries (shared copy-on-write: O(1) under the lock, for a
    /// checkpoint that reads them on another thread).
    public var generations: [[UInt64: String]] {
        state.withLock { s in [s.previous, s.current] }
    }

    /// Registers names saved by `names` (a restart), without forgetting any held now.
    public func restore(names: [UInt64: String]) {
        for (raw, name) in names { register(Symbol(rawValue: raw), name: name) }
    }
}

/// A reader's private memory of which symbols the shared table already holds,
/// so the hot path hashes each string once and takes no lock unless the string
/// is new (or its generation was forgotten).
public struct SymbolCache: Sendable {
    public let table: SymbolTable
    @usableFromInline var known: HashIndex
    /// A small direct-mapped front for `known` that stays in L1: principals,
    /// resources, hops and ops repeat on nearly every event, and a probe of the
    /// full index (megabytes once connections churn) would miss the cache.
    @usableFromInline var recent: [UInt64]
    @usableFromInline var generation: Int
    @usableFromInline static let recentMask = 4095

    public init(table: SymbolTable) {
        self.table = table
        self.known = HashIndex(capacity: table.capacity)
        self.recent = Array(repeating: 0, count: Self.recentMask + 1)
        self.generation = table.generation
    }

    @inlinable
    public mutating func intern(_ bytes: UnsafeRawBufferPointer) -> Symbol {
        let symbol = Symbol(bytes: bytes)
        let slot = Int(truncatingIfNeeded: symbol.rawValue >> 20) & Self.recentMask
        if recent[slot] == symbol.rawValue { return symbol }
        if known.find(symbol.rawValue) == nil { registerSlow(symbol, bytes) }
        recent[slot] = symbol.rawValue
        return symbol
    }

    @usableFromInline
    mutating func registerSlow(_ symbol: Symbol, _ bytes: UnsafeRawBufferPointer) {
        let g = table.register(symbol, name: String(decoding: bytes, as: UTF8.self))
        if g != generation || known.count >= known.capacity {
            known.removeAll()
            for i in recent.indices { recent[i] = 0 }
            generation = g
        }
        known.insert(symbol.rawValue, value: 0)
    }
}
