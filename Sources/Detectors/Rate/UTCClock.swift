import ChunkModel

/// Times of day in alert messages ("since 10:42 UTC").
enum UTCClock {
    /// `HH:MM` of an instant in event-time nanoseconds, UTC.
    static func text(_ ns: Int64) -> String {
        let s = Timestamp(nanoseconds: ns).secondOfDay
        let h = s / 3600
        let m = (s % 3600) / 60
        return (h < 10 ? "0" : "") + String(h) + (m < 10 ? ":0" : ":") + String(m)
    }
}
