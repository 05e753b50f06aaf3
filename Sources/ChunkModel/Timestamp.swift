/// An instant in event time, as nanoseconds since the Unix epoch (UTC).
///
/// Nanoseconds in an `Int64` cover the years 1678–2262, which is every time a
/// gateway can report; RFC 3339 inputs with more fractional digits are truncated.
public struct Timestamp: Hashable, Comparable, Sendable, Codable {
    public var nanoseconds: Int64

    @inlinable
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// The instant `epochMilliseconds` after the epoch, held at the bounds
    /// of `Int64` nanoseconds (years 1677 and 2262) when it lies beyond them;
    /// `init?(exactEpochMilliseconds:)` says so instead.
    @inlinable
    public init(epochMilliseconds: Int64) {
        let (ns, overflow) = epochMilliseconds.multipliedReportingOverflow(by: 1_000_000)
        self.nanoseconds = overflow ? (epochMilliseconds < 0 ? .min : .max) : ns
    }

    /// The instant `epochMilliseconds` after the epoch, or nil when it does
    /// not fit in `Int64` nanoseconds.
    @inlinable
    public init?(exactEpochMilliseconds ms: Int64) {
        let (ns, overflow) = ms.multipliedReportingOverflow(by: 1_000_000)
        guard !overflow else { return nil }
        self.nanoseconds = ns
    }

    @inlinable
    public var epochMilliseconds: Int64 {
        // Floor division, so instants before 1970 round down like the others.
        nanoseconds % 1_000_000 < 0 ? nanoseconds / 1_000_000 - 1 : nanoseconds / 1_000_000
    }

    @inlinable
    public var epochSeconds: Double { Double(nanoseconds) / 1e9 }

    @inlinable
    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    /// Saturates at the bounds of `Int64` nanoseconds rather than wrap or trap.
    @inlinable
    public static func + (lhs: Timestamp, rhs: Duration) -> Timestamp {
        Timestamp(nanoseconds: lhs.nanoseconds.clampedAdding(rhs.nanosecondsClamped))
    }

    /// Saturates at the bounds of `Int64` nanoseconds (about ±292 years).
    @inlinable
    public static func - (lhs: Timestamp, rhs: Timestamp) -> Duration {
        .nanoseconds(lhs.nanoseconds.clampedSubtracting(rhs.nanoseconds))
    }

    public static let zero = Timestamp(nanoseconds: 0)
}

extension Duration {
    /// The duration in whole nanoseconds, saturating at `Int64`'s bounds.
    @inlinable
    public var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        let (ns, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return ns.clampedAdding(attoseconds / 1_000_000_000)
    }
}

// MARK: - Civil calendar

/// Days-from-civil and civil-from-days (Howard Hinnant's algorithms): exact for
/// the proleptic Gregorian calendar, no Foundation, no allocation.
@usableFromInline
enum Civil {
    @usableFromInline
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    @usableFromInline
    static func date(days z0: Int) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    @usableFromInline
    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

extension Timestamp {
    /// Seconds into the UTC day, 0..<86400.
    @inlinable
    public var secondOfDay: Int {
        // Floor division without subtracting first, which could overflow near Int64.min.
        var s = nanoseconds / 1_000_000_000
        if nanoseconds % 1_000_000_000 < 0 { s -= 1 }
        let r = Int(s % 86_400)
        return r < 0 ? r + 86_400 : r
    }

    /// 0 = Monday … 6 = Sunday, in UTC.
    public var dayOfWeek: Int {
        var days = nanoseconds / 86_400_000_000_000
        if nanoseconds % 86_400_000_000_000 < 0 { days -= 1 }
        // 1970-01-01 was a Thursday (3 when Monday is 0).
        let r = Int((days + 3) % 7)
        return r < 0 ? r + 7 : r
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Timestamp {
    /// The wall clock, for `emitted_at` and live pacing; detectors never read it.
    @Sendable
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(nanoseconds: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
    }
}
