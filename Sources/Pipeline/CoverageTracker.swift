import Baselines
import ChunkModel

/// Counts, per principal, the lines rejected in the current and previous hour
/// of event time, so every alert can say how much of its principal's recent
/// data never reached the detectors. Bounded like every baseline.
struct CoverageTracker: Codable {
    private struct Hours: Codable, RawCheckpointable {
        var hour: Int64 = .min
        var current: Int32 = 0
        var previous: Int32 = 0
    }

    private var keys: KeyedStore
    private var hours: [Hours] = []

    init(maxKeys: Int) { keys = KeyedStore(capacity: maxKeys) }

    private static func hour(_ ts: Timestamp) -> Int64 {
        let h = ts.nanoseconds / 3_600_000_000_000
        return ts.nanoseconds < 0 && ts.nanoseconds % 3_600_000_000_000 != 0 ? h - 1 : h
    }

    mutating func rejected(_ principal: Symbol, at ts: Timestamp) {
        let (slot, isNew) = keys.slot(for: principal.rawValue)
        if isNew {
            if slot == hours.count { hours.append(Hours()) } else { hours[slot] = Hours() }
        }
        roll(slot, to: Self.hour(ts))
        hours[slot].current += 1
    }

    /// Rejections of `principal` in the hour of `ts` and the one before it.
    func coverage(_ principal: Symbol, at ts: Timestamp) -> Coverage {
        guard let slot = keys.existingSlot(for: principal.rawValue) else { return Coverage() }
        let h = hours[slot]
        let now = Self.hour(ts)
        let count: Int32
        switch now - h.hour {
        case 0: count = h.current + h.previous
        case 1: count = h.current
        default: count = 0
        }
        return Coverage(rejected: Int(count))
    }

    private mutating func roll(_ slot: Int, to hour: Int64) {
        let h = hours[slot]
        if hour == h.hour { return }
        if hour == h.hour + 1 {
            hours[slot] = Hours(hour: hour, current: 0, previous: h.current)
        } else if hour > h.hour {
            hours[slot] = Hours(hour: hour, current: 0, previous: 0)
        }
        // A late line (an earlier hour) counts toward the current one.
    }
}
