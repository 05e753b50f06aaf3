import Baselines
import ChunkModel

/// Counts, per principal, the lines rejected and the events taps reported
/// dropped in the current and previous hour of event time, so every alert can
/// say how much of its principal's recent data never reached the detectors.
/// Bounded like every baseline.
///
/// Counts saturate rather than overflow: a report may claim any number.
struct CoverageTracker: Codable {
    private struct Hours: Codable, RawCheckpointable {
        var hour: Int64 = .min
        var rejected: Int32 = 0
        var rejectedBefore: Int32 = 0
        var dropped: Int64 = 0
        var droppedBefore: Int64 = 0
    }

    private var keys: KeyedStore
    private var hours: [Hours] = []

    init(maxKeys: Int) { keys = KeyedStore(capacity: maxKeys) }

    private static func hour(_ ts: Timestamp) -> Int64 {
        ts.bucket(.hour)
    }

    mutating func rejected(_ principal: Symbol, at ts: Timestamp) {
        let slot = current(principal, at: ts)
        let (sum, overflow) = hours[slot].rejected.addingReportingOverflow(1)
        hours[slot].rejected = overflow ? .max : sum
    }

    /// `count` events of `principal` a tap dropped, reported at `ts`.
    mutating func dropped(_ principal: Symbol, count: Int64, at ts: Timestamp) {
        guard count > 0 else { return }
        let slot = current(principal, at: ts)
        let (sum, overflow) = hours[slot].dropped.addingReportingOverflow(count)
        hours[slot].dropped = overflow ? .max : sum
    }

    /// Rejections and drops of `principal` in the hour of `ts` and the one before it.
    func coverage(_ principal: Symbol, at ts: Timestamp) -> Coverage {
        guard let slot = keys.existingSlot(for: principal.rawValue) else { return Coverage() }
        let h = hours[slot]
        switch Self.hour(ts).clampedSubtracting(h.hour) {
        case 0:
            let (dropped, overflow) = h.dropped.addingReportingOverflow(h.droppedBefore)
            return Coverage(rejected: Int(h.rejected) + Int(h.rejectedBefore), dropped: Int(overflow ? .max : dropped))
        case 1: return Coverage(rejected: Int(h.rejected), dropped: Int(h.dropped))
        default: return Coverage()
        }
    }

    /// The slot of `principal`, its hours rolled on to the hour of `ts`.
    private mutating func current(_ principal: Symbol, at ts: Timestamp) -> Int {
        let (slot, isNew) = keys.slot(for: principal.rawValue)
        if isNew {
            if slot == hours.count { hours.append(Hours()) } else { hours[slot] = Hours() }
        }
        roll(slot, to: Self.hour(ts))
        return slot
    }

    private mutating func roll(_ slot: Int, to hour: Int64) {
        let h = hours[slot]
        if hour == h.hour { return }
        if hour == h.hour + 1 {
            hours[slot] = Hours(hour: hour, rejectedBefore: h.rejected, droppedBefore: h.dropped)
        } else if hour > h.hour {
            hours[slot] = Hours(hour: hour)
        }
        // A late line or report (an earlier hour) counts toward the current one.
    }
}
