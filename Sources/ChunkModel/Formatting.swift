/// Human-readable figures for alert messages.
public enum Format {
    /// `512 B`, `16 KiB`, `1.0 MiB`, `3.2 GiB`.
    public static func bytes(_ value: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var v = value
        var u = 0
        while abs(v) >= 1024 && u < units.count - 1 {
            v /= 1024
            u += 1
        }
        if u == 0 { return "\(Int(v.rounded())) B" }
        if abs(v) >= 100 || v == v.rounded() { return "\(Int(v.rounded())) \(units[u])" }
        return "\(decimal(v, 1)) \(units[u])"
    }

    /// A number with at most `places` decimals, trailing zeros dropped.
    public static func decimal(_ value: Double, _ places: Int) -> String {
        var out = OutputBuffer(capacity: 24)
        out.append(number: value, decimals: places)
        return out.string
    }

    /// `3.5×`, `46×`, `1200×`.
    public static func ratio(_ value: Double) -> String {
        value >= 10 ? "\(Int(value.rounded()))×" : "\(decimal(value, 1))×"
    }
}
