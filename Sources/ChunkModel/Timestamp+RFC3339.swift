extension Timestamp {
    /// Parses an RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
    ///
    /// Accepts `T`, `t` or a space between date and time, `Z` or `z`, any number
    /// of fractional digits (kept to the nanosecond), and a leap second `:60`
    /// (read as `:59.999999999`, since the instant after it is the next minute).
    /// Returns nil for anything else, including impossible dates.
    @inlinable
    public init?(rfc3339 bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= 20, let minute = Self.rfc3339Minute(bytes) else { return nil }
        self.init(rfc3339: bytes, minute: minute)
    }

    /// The first half of parsing: seconds from the epoch to the minute that the
    /// first 16 bytes (`YYYY-MM-DDTHH:MM`) name, before any offset, or nil when
    /// they are not a valid date, hour and minute. Events of a stream share it
    /// for a minute at a time, so a reader can keep it, keyed by those bytes,
    /// and pass it to `init(rfc3339:minute:)`.
    @inlinable
    public static func rfc3339Minute(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        guard bytes.count >= 16 else { return nil }
        @inline(__always) func two(_ i: Int) -> Int? {
            let a = Int(bytes[i]) &- 48
            let b = Int(bytes[i + 1]) &- 48
            return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : nil
        }
        guard let y0 = two(0), let y1 = two(2), bytes[4] == UInt8(ascii: "-"),
            let month = two(5), bytes[7] == UInt8(ascii: "-"), let day = two(8),
            let hour = two(11), bytes[13] == UInt8(ascii: ":"), let minute = two(14)
        else { return nil }
        let sep = bytes[10]
        guard sep == UInt8(ascii: "T") || sep == UInt8(ascii: "t") || sep == UInt8(ascii: " ") else { return nil }
        let year = y0 * 100 + y1
        guard month >= 1, month <= 12, day >= 1, day <= Civil.daysInMonth(year: year, month: month),
            hour <= 23, minute <= 59
        else { return nil }
        return Int64(Civil.days(year: year, month: month, day: day)) * 86_400 + Int64(hour * 3600 + minute * 60)
    }

    /// The second half of parsing: the rest of the date-time (`:SS[.frac]` and
    /// the offset, from byte 16 on), given what `rfc3339Minute` returned for the
    /// same bytes.
    @inlinable
    public init?(rfc3339 bytes: UnsafeRawBufferPointer, minute minuteSeconds: Int64) {
        guard let (seconds, fraction) = Self.rfc3339Instant(bytes, minute: minuteSeconds) else { return nil }
        // Years 1678–2261 fit in Int64 nanoseconds; anything else is not an instant we can hold.
        // Before 1970 with a fraction, scale one second less and add the fraction
        // minus a second, so instants just above Int64.min still fit.
        let borrow: Int64 = seconds < 0 && fraction > 0 ? 1 : 0
        let (scaled, overflow) = (seconds + borrow).multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return nil }
        let (total, overflow2) = scaled.addingReportingOverflow(fraction - borrow * 1_000_000_000)
        guard !overflow2 else { return nil }
        self.init(nanoseconds: total)
    }

    /// The instant a well-formed date-time names, as whole seconds since the
    /// epoch (UTC, offset applied) and nanoseconds into the second, for any
    /// year 0000–9999; nil when the text is malformed. Unlike the
    /// initializer, this cannot fail for lack of range, so a decoder can tell
    /// a time outside what it accepts from text that is not a time at all.
    @inlinable
    public static func rfc3339Instant(_ bytes: UnsafeRawBufferPointer, minute minuteSeconds: Int64) -> (seconds: Int64, nanoseconds: Int64)? {
        let n = bytes.count
        guard n >= 20 else { return nil }
        @inline(__always) func digit(_ i: Int) -> Int? {
            let d = Int(bytes[i]) &- 48
            return d >= 0 && d <= 9 ? d : nil
        }
        @inline(__always) func two(_ i: Int) -> Int? {
            guard let a = digit(i), let b = digit(i + 1) else { return nil }
            return a * 10 + b
        }
        guard bytes[16] == UInt8(ascii: ":"), var second = two(17), second <= 60 else { return nil }
        var i = 19
        var fraction: Int64 = 0
        if bytes[i] == UInt8(ascii: ".") {
            i += 1
            var scale: Int64 = 100_000_000
            let start = i
            while i < n, let d = digit(i) {
                fraction += Int64(d) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        guard i < n else { return nil }
        var offsetSeconds = 0
        switch bytes[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard i + 6 == n, let oh = two(i + 1), bytes[i + 3] == UInt8(ascii: ":"), let om = two(i + 4),
                oh <= 23, om <= 59
            else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (bytes[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        default:
            return nil
        }
        guard i == n else { return nil }
        if second == 60 {
            second = 59
            fraction = 999_999_999
        }
        // The minute is from a four-digit year, so this sum is far inside Int64.
        return (minuteSeconds &+ Int64(second) &- Int64(offsetSeconds), fraction)
    }

    public init?(rfc3339 string: String) {
        var s = string
        guard let t = s.withUTF8({ Timestamp(rfc3339: UnsafeRawBufferPointer($0)) }) else { return nil }
        self = t
    }

    /// Writes `YYYY-MM-DDTHH:MM:SS.mmmZ` (24 bytes), the form every output uses.
    @inlinable
    public func writeRFC3339Milliseconds(to out: inout OutputBuffer) {
        let ms = epochMilliseconds
        var days = ms / 86_400_000
        var msOfDay = ms % 86_400_000
        if msOfDay < 0 {
            msOfDay += 86_400_000
            days -= 1
        }
        let (year, month, day) = Civil.date(days: Int(days))
        let secOfDay = Int(msOfDay / 1000)
        out.reserve(24)
        out.appendDigits(year, width: 4)
        out.append(UInt8(ascii: "-"))
        out.appendDigits(month, width: 2)
        out.append(UInt8(ascii: "-"))
        out.appendDigits(day, width: 2)
        out.append(UInt8(ascii: "T"))
        out.appendDigits(secOfDay / 3600, width: 2)
        out.append(UInt8(ascii: ":"))
        out.appendDigits(secOfDay / 60 % 60, width: 2)
        out.append(UInt8(ascii: ":"))
        out.appendDigits(secOfDay % 60, width: 2)
        out.append(UInt8(ascii: "."))
        out.appendDigits(Int(msOfDay % 1000), width: 3)
        out.append(UInt8(ascii: "Z"))
    }

    /// The RFC 3339 UTC form with milliseconds, e.g. `2026-11-25T08:00:03.120Z`.
    public var rfc3339: String {
        var buffer = OutputBuffer(capacity: 24)
        writeRFC3339Milliseconds(to: &buffer)
        return buffer.string
    }
}

extension Timestamp: CustomStringConvertible {
    public var description: String { rfc3339 }
}
