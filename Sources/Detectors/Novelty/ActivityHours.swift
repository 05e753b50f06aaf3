/// The hours in which a principal has been active: 168 bits for the hours of
/// the week (Monday 00:00 UTC is hour 0) and 24 for the hours of the day.
struct ActivityHours: Sendable, Equatable {
    private var week: (UInt64, UInt64, UInt64) = (0, 0, 0)
    private(set) var day: UInt32 = 0

    static func == (a: ActivityHours, b: ActivityHours) -> Bool {
        a.week == b.week && a.day == b.day
    }

    func isActive(hourOfWeek h: Int) -> Bool {
        let word: UInt64
        switch h >> 6 {
        case 0: word = week.0
        case 1: word = week.1
        default: word = week.2
        }
        return word & (1 << UInt64(h & 63)) != 0
    }

    func isActive(hourOfDay h: Int) -> Bool { day & (1 << UInt32(h)) != 0 }

    mutating func mark(hourOfWeek h: Int) {
        let bit: UInt64 = 1 << UInt64(h & 63)
        switch h >> 6 {
        case 0: week.0 |= bit
        case 1: week.1 |= bit
        default: week.2 |= bit
        }
        day |= 1 << UInt32(h % 24)
    }

    var activeHoursOfDay: Int { day.nonzeroBitCount }
    var activeHoursOfWeek: Int { week.0.nonzeroBitCount + week.1.nonzeroBitCount + week.2.nonzeroBitCount }

    /// Hours from `h` to the nearest active hour of the week, either way round; nil when none is.
    func distance(fromHourOfWeek h: Int) -> Int? {
        for d in 0...84 {
            if isActive(hourOfWeek: (h + d) % 168) || isActive(hourOfWeek: (h - d + 168) % 168) { return d }
        }
        return nil
    }

    /// Hours from `h` to the nearest active hour of the day, either way round; nil when none is.
    func distance(fromHourOfDay h: Int) -> Int? {
        for d in 0...12 {
            if isActive(hourOfDay: (h + d) % 24) || isActive(hourOfDay: (h - d + 24) % 24) { return d }
        }
        return nil
    }
}

extension ActivityHours: Codable {
    init(from decoder: any Decoder) throws {
        var c = try decoder.unkeyedContainer()
        week = (try c.decode(UInt64.self), try c.decode(UInt64.self), try c.decode(UInt64.self))
        day = try c.decode(UInt32.self)
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(week.0)
        try c.encode(week.1)
        try c.encode(week.2)
        try c.encode(day)
    }
}
